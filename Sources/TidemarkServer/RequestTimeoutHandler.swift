import Hummingbird
import NIOCore
import NIOHTTPTypes

/// Ends a request whose body has not fully arrived within `--request-timeout`: answers 408 with
/// the API's JSON error (unless an answer has started) and closes the connection.
///
/// It sits in each connection's pipeline, not in the handlers: a request that arrives whole in
/// one read (every heartbeat) never arms a timer, and an incomplete one arms one timer on its
/// connection's event loop. A timeout raced in the handler cost every request a task and a
/// sleeping timer that stayed queued for the whole timeout after the request was answered
/// (300 s of them at thousands of requests a second).
final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// When the current request's head arrived; nil between requests.
    private var started: NIODeadline?
    private var timer: Scheduled<Void>?
    /// An answer to the current request has begun (a handler may answer before the body ends).
    private var answering = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            started = .now()
            answering = false
        case .body:
            break
        case .end:
            started = nil
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    /// The end of a read: a request still incomplete now waits for more bytes, on the clock.
    func channelReadComplete(context: ChannelHandlerContext) {
        if let started, timer == nil {
            timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: started + timeout) { [self] in
                expire(context: context)
            }
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { answering = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func expire(context: ChannelHandlerContext) {
        timer = nil
        guard started != nil else { return }
        started = nil
        if answering {
            context.close(promise: nil)
            return
        }
        answering = true
        let seconds = timeout.nanoseconds / 1_000_000_000
        let error = APIError(.requestTimeout, "request_timeout", "the request body did not arrive within \(seconds) s (--request-timeout)")
        var head = HTTPResponse(status: error.status)
        head.headerFields = error.headers
        head.headerFields[.connection] = "close"
        let body = ByteBuffer(bytes: error.document)
        head.headerFields[.contentLength] = "\(body.readableBytes)"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

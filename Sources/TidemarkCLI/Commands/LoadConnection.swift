import NIOCore
import NIOPosix
import Synchronization
import TidemarkCore

/// The load generator's HTTP client: keep-alive HTTP/1.1 connections that send prepared request
/// bytes and read back a status and a `Content-Length` body, nothing more (no TLS, no redirects,
/// no chunked answers: `tidemark server` sends none of those to it). The generator shares the
/// machine with the server it measures, and a full client cost it several times the server's
/// own work per heartbeat; this is what `wrk`-style generators do for the same reason.
final class LoadConnections: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let pool: Mutex<(free: [Connection], waiting: [CheckedContinuation<Connection, Never>])>
    private let head: [UInt8]

    /// `count` connections to `server` (`http://host:port`), requests authorized with `token`.
    init(server: String, token: String, count: Int) async throws {
        guard server.hasPrefix("http://") else { throw TidemarkError(.invalidArgument, "--server: the load generator speaks plain HTTP to the server (http://HOST:PORT), not \(server)") }
        let authority = server.dropFirst("http://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) else {
            throw TidemarkError(.invalidArgument, "--server: expected http://HOST:PORT, got \(server)")
        }
        let host = String(authority[..<colon]).trimmingCharacters(in: ["[", "]"])
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var connections: [Connection] = []
        for _ in 0..<max(1, count) { connections.append(try await Connection.open(host: host, port: port, group: group)) }
        pool = Mutex((connections, []))
        head = Array("POST /api/v1/observations HTTP/1.1\r\nHost: \(authority)\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n".utf8)
    }

    /// Posts one observation body; its status and answer.
    func post(observation body: [UInt8]) async throws -> (status: Int, body: String) {
        var request = ByteBuffer()
        request.reserveCapacity(head.count + 32 + body.count)
        request.writeBytes(head)
        request.writeString("Content-Length: \(body.count)\r\n\r\n")
        request.writeBytes(body)
        let connection = await take()
        defer { give(connection) }
        let (status, answer) = try await connection.send(request)
        return (status, String(buffer: answer))
    }

    func shutdown() async {
        let all = pool.withLock { $0.free }
        for c in all { try? await c.channel.close() }
        try? await group.shutdownGracefully()
    }

    private func take() async -> Connection {
        await withCheckedContinuation { (k: CheckedContinuation<Connection, Never>) in
            let c: Connection? = pool.withLock { p in
                // the longest idle first: every connection is used in turn, none outlives the
                // server's idle timeout unused
                if !p.free.isEmpty { return p.free.removeFirst() }
                p.waiting.append(k)
                return nil
            }
            if let c { k.resume(returning: c) }
        }
    }

    private func give(_ c: Connection) {
        let waiter: CheckedContinuation<Connection, Never>? = pool.withLock { p in
            if p.waiting.isEmpty {
                p.free.append(c)
                return nil
            }
            return p.waiting.removeFirst()
        }
        waiter?.resume(returning: c)
    }

    final class Connection: Sendable {
        let channel: any Channel
        private let handler: NIOLoopBound<ResponseReader>

        private init(channel: any Channel, handler: NIOLoopBound<ResponseReader>) {
            self.channel = channel
            self.handler = handler
        }

        static func open(host: String, port: Int, group: MultiThreadedEventLoopGroup) async throws -> Connection {
            let channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ResponseReader()) }
                }
                .connect(host: host, port: port).get()
            let reader = try await channel.pipeline.handler(type: ResponseReader.self).map { NIOLoopBound($0, eventLoop: channel.eventLoop) }.get()
            return Connection(channel: channel, handler: reader)
        }

        func send(_ request: ByteBuffer) async throws -> (Int, ByteBuffer) {
            let promise = channel.eventLoop.makePromise(of: (Int, ByteBuffer).self)
            let channel = self.channel, handler = self.handler
            channel.eventLoop.execute {
                handler.value.expect(promise)
                channel.writeAndFlush(request, promise: nil)
            }
            return try await promise.futureResult.get()
        }
    }

    /// Reads one answer at a time: status line, headers up to the blank line, `Content-Length` bytes.
    final class ResponseReader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var buffer = ByteBuffer()
        private var pending: EventLoopPromise<(Int, ByteBuffer)>?

        func expect(_ promise: EventLoopPromise<(Int, ByteBuffer)>) { pending = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            guard let promise = pending else { return }
            do {
                guard let (status, body) = try parse() else { return }
                pending = nil
                promise.succeed((status, body))
            } catch {
                pending = nil
                promise.fail(error)
                context.close(promise: nil)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            pending?.fail(TidemarkError(.unreachable, "the server closed the connection"))
            pending = nil
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            pending?.fail(error)
            pending = nil
            context.close(promise: nil)
        }

        private func parse() throws -> (Int, ByteBuffer)? {
            let view = buffer.readableBytesView
            guard let end = view.firstRange(of: [13, 10, 13, 10]) else { return nil }
            let head = String(decoding: view[view.startIndex..<end.lowerBound], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            guard let first = lines.first, first.hasPrefix("HTTP/1.1 "), let status = Int(first.dropFirst(9).prefix(3)) else {
                throw TidemarkError(.unreachable, "not an HTTP/1.1 answer: \(head.prefix(80))")
            }
            var length: Int?
            for line in lines.dropFirst() {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                if parts[0].lowercased() == "content-length" { length = Int(parts[1].trimmingCharacters(in: .whitespaces)) }
                if parts[0].lowercased() == "transfer-encoding" { throw TidemarkError(.unreachable, "chunked answers are not read by the load generator") }
            }
            guard let length else { throw TidemarkError(.unreachable, "an answer without Content-Length") }
            let headerBytes = end.upperBound - view.startIndex
            guard buffer.readableBytes >= headerBytes + length else { return nil }
            buffer.moveReaderIndex(forwardBy: headerBytes)
            let body = buffer.readSlice(length: length)!
            buffer.discardReadBytes()
            return (status, body)
        }
    }
}

.PHONY: demo test build bench
demo:            ## the main job: a demo fleet with real zypper history, backfilled and queried
	scripts/demo.sh
test:            ## every test, against real rpm/zypper/createrepo_c/dpkg
	scripts/install-test-tools.sh
	scripts/test.sh
build:
	swift build
bench:           ## benchmarks (release build), printed as ratios against their anchors
	scripts/bench.sh

# The entry points. Every target installs what it needs first (scripts/bootstrap) and reuses its
# build directory, so a second run only rebuilds what changed.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
BENCH_BUILD ?= build-bench
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all bootstrap build test test-cpp test-bindings test-asan test-tsan demo bench bench-peers \
        install clean lint abi-update fuzz help

all: build

help:
	@echo "make demo | test | test-asan | test-tsan | bench | bench-peers | fuzz | install | abi-update | lint | clean"

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@scripts/configure $(BUILD) $(if $(wildcard $(BUILD)/build.ninja),,-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	@cmake --build $(BUILD) -j $(JOBS)

test: test-cpp test-bindings

test-cpp: build
	@ctest --test-dir $(BUILD) -j $(JOBS) --output-on-failure $(CTEST_ARGS)

test-bindings: build
	@scripts/test-bindings $(BUILD)

test-asan: bootstrap
	@scripts/configure $(ASAN_BUILD) $(if $(wildcard $(ASAN_BUILD)/build.ninja),,-DKARS_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo)
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) -j $(JOBS) --output-on-failure $(CTEST_ARGS)

# The race-checked subset: test binaries marked TSAN in their CMakeLists (label `tsan`).
test-tsan: bootstrap
	@scripts/configure $(TSAN_BUILD) $(if $(wildcard $(TSAN_BUILD)/build.ninja),,-DKARS_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo)
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target kars_tsan_tests
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(TSAN_BUILD) -j $(JOBS) -L tsan --output-on-failure $(CTEST_ARGS)

demo: build
	@examples/demo/run.sh $(BUILD)

bench: bootstrap
	@scripts/configure $(BENCH_BUILD) $(if $(wildcard $(BENCH_BUILD)/build.ninja),,-DCMAKE_BUILD_TYPE=Release -DKARS_BUILD_BENCH=ON -DKARS_BUILD_TESTS=OFF)
	@cmake --build $(BENCH_BUILD) -j $(JOBS)
	@scripts/run-benches $(BENCH_BUILD)

bench-peers: bench
	@scripts/run-bench-peers $(BENCH_BUILD)

fuzz: bootstrap
	@CC=clang CXX=clang++ scripts/configure $(FUZZ_BUILD) $(if $(wildcard $(FUZZ_BUILD)/build.ninja),,-DKARS_BUILD_FUZZ=ON -DKARS_BUILD_TESTS=OFF -DKARS_BUILD_HOSTS=OFF -DKARS_SANITIZE=address,undefined)
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

abi-update: build
	@abidw --no-corpus-path --headers-dir include/kars --out-file abi/libkars.abi $(BUILD)/libkars/libkars.so
	@if [ -f $(BUILD)/libkars/mesh/libkars-mesh.so ]; then \
	  abidw --no-corpus-path --headers-dir include/kars --out-file abi/libkars-mesh.abi $(BUILD)/libkars/mesh/libkars-mesh.so; fi
	@echo "abi/libkars.abi and abi/libkars-mesh.abi re-baselined from $(BUILD); commit them with the change that needs it"

lint: build
	@scripts/lint $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(BENCH_BUILD) $(FUZZ_BUILD)

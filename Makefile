# runnel - everyday commands. The build itself is meson + ninja in build/.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
PY := /usr/bin/python3

.PHONY: all deps build test unit integration check-asan fuzz fuzz-build demo demo-runner bench format clean

all: build

deps:
	@scripts/deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

# Every test: cmocka unit tests, the pytest suites and each fuzz target for
# 30 s over its corpus; the last line is "N passed, N failed" (plus ", N skipped").
test: build fuzz-build
	@$(PY) scripts/run-tests --build $(BUILD) --fuzz-build $(FUZZ_BUILD)

# Unit tests and a few real runs under AddressSanitizer + UBSan.
check-asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(PY) scripts/run-tests --build $(ASAN_BUILD) --asan

# The libFuzzer targets (fuzz/), built with clang, ASan and UBSan in their own
# build dir, so that `make build` stays gcc.
fuzz-build: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(FUZZ_BUILD) fuzzers >/dev/null || ninja -C $(FUZZ_BUILD) fuzzers

# Each fuzz target in turn for FUZZ_SECONDS (default 600); crashes land in
# $(FUZZ_BUILD)/crashes/<target>/.
fuzz: fuzz-build
	@$(PY) scripts/fuzz --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

# The job service end to end: runneld, a template launched through the API.
demo: build
	@/usr/bin/python3 scripts/demo-service

# The runner alone: `runnel run` on the bundled private data dir.
demo-runner: build
	@scripts/demo

bench: build
	@bench/all

# Every tracked C file.
format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

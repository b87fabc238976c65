# runnel - everyday commands. The build itself is meson + ninja in build/.
BUILD ?= build
ASAN_BUILD ?= build-asan
PY := /usr/bin/python3

.PHONY: all deps build test unit integration check-asan demo demo-runner bench format clean

all: build

deps:
	@scripts/deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

# Every test: cmocka unit tests and the pytest suites; the last line is
# "N passed, N failed" (plus ", N skipped").
test: build
	@$(PY) scripts/run-tests --build $(BUILD)

# Unit tests and a few real runs under AddressSanitizer + UBSan.
check-asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(PY) scripts/run-tests --build $(ASAN_BUILD) --asan

# The job service end to end: runneld, a template launched through the API.
demo: build
	@/usr/bin/python3 scripts/demo-service

# The runner alone: `runnel run` on the bundled private data dir.
demo-runner: build
	@scripts/demo

bench: build
	@bench/all

format:
	clang-format -i include/*.h lib/*.[ch] cli/*.[ch] tests/unit/*.c bench/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

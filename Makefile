# beseda — build, run, test.
#   make          build the four processes into build/
#   make run      install what running needs, build, start a demo cluster (Ctrl-C stops it)
#   make test     install what testing needs too, build, run every test; ends with "N passed, N failed"
#   make asan     build with AddressSanitizer + UBSan into build-asan/
#   make fuzz     run every libFuzzer target FUZZ_SECONDS (30) each, built into build-fuzz/

BUILD   ?= build
CC      ?= cc
PKGS     = libczmq libzmq libprotobuf-c hiredis libpq libwebsockets jansson libsodium libmicrohttpd libcurl libmaxminddb
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Icommon -I$(BUILD)/proto \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

COMMON_SRC  = $(wildcard common/*.c)
COMMON_OBJ  = $(COMMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/proto/beseda.pb-c.o
PROCESSES   = broker gateway router store
BINARIES    = $(PROCESSES:%=$(BUILD)/beseda-%)
UNIT_SRC    = $(wildcard tests/unit/test_*.c)
UNIT_BIN    = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all clean run test unit deps deps-run asan $(PROCESSES)
all: $(BINARIES)
$(PROCESSES): %: $(BUILD)/beseda-%

$(BUILD)/proto/beseda.pb-c.c $(BUILD)/proto/beseda.pb-c.h: proto/beseda.proto
	@mkdir -p $(BUILD)/proto
	protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/beseda.pb-c.o: $(BUILD)/proto/beseda.pb-c.c
	$(CC) $(CFLAGS) -c $< -o $@

# -MMD: each object also depends on the headers it includes (a struct that
# grows in a process's own header must rebuild every file that uses it).
$(BUILD)/%.o: %.c $(BUILD)/proto/beseda.pb-c.h $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -I$(dir $<) -c $< -o $@
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/libbeseda-common.a: $(COMMON_OBJ)
	ar rcs $@ $^

# Each process: every .c in its folder; main.c holds only main().
define process_rule
$(1)_SRC = $$(wildcard $(1)/*.c)
$(1)_OBJ = $$($(1)_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/beseda-$(1): $$($(1)_OBJ) $(BUILD)/libbeseda-common.a
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
$(BUILD)/lib$(1).a: $$(filter-out $(BUILD)/$(1)/main.o,$$($(1)_OBJ))
	ar rcs $$@ $$^
endef
$(foreach p,$(PROCESSES),$(eval $(call process_rule,$(p))))
# The store's SQL functions are compiled in (.incbin in store/sql_functions.c).
$(BUILD)/store/sql_functions.o: $(wildcard store/sql/*.sql)
# The gateway runs libwebsockets inside a libev loop (epoll; docs/GATEWAY.md).
# libev has no pkg-config file in Debian.
$(BUILD)/beseda-gateway: LDLIBS += -lev
$(BUILD)/tests/test_gateway_%: LDLIBS += -lev

# Unit tests: tests/unit/test_<module>.c links the library of the process it
# names after "test_<process>_" (or only the common library).
$(BUILD)/tests/test_%: tests/unit/test_%.c $(foreach p,$(PROCESSES),$(BUILD)/lib$(p).a) $(BUILD)/libbeseda-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(foreach p,$(PROCESSES),-I$(p)) -o $@ $< \
	  $(foreach p,$(PROCESSES),$(if $(findstring test_$(p)_,$@),$(BUILD)/lib$(p).a)) \
	  $(BUILD)/libbeseda-common.a $(LDLIBS)

unit: $(UNIT_BIN)

# `make run` installs only what building and running needs; `make test` (and
# `make deps`) the test tooling on top (scripts/deps.sh).
deps:
	@scripts/deps.sh test
deps-run:
	@scripts/deps.sh run

run: deps-run
	@scripts/run.sh --check-ports
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

test: deps
	@$(MAKE) --no-print-directory all unit
	@scripts/test.sh

asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" all

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# ---- web: the served tree build/web/ (docs/WEB.md "Built tree") ----------
# scripts/build-web.mjs copies web/ with content-hashed names for the scripts
# and styles, references rewritten, and a .gz and .br twin of each file; the
# gateway serves it (BESEDA_WEB_ROOT). Part of `all`; never committed.
# The folders too: a file removed from web/ rebuilds the tree.
WEB_SRC = $(shell find web 2>/dev/null)
all: $(BUILD)/web/.stamp
$(BUILD)/web/.stamp: $(WEB_SRC) scripts/build-web.mjs
	node scripts/build-web.mjs web $(BUILD)/web

# ---- bench: the load generator and benchmark (docs/PERFORMANCE.md) --------
# build/beseda-loadgen from bench/*.c (bench/loadgen.c holds main); its unit
# tests tests/unit/test_bench_*.c link build/libbench.a. `make bench` runs the
# ladder of both scenarios (warm, open) past capacity against beseda, mosquitto
# and RabbitMQ; `make bench-smoke` a tiny run of both against beseda.
# ulimit: thousands of connections need file descriptors.
BENCH_SRC = $(wildcard bench/*.c)
BENCH_OBJ = $(BENCH_SRC:%.c=$(BUILD)/%.o)
$(BENCH_OBJ): $(wildcard bench/*.h)
$(BUILD)/beseda-loadgen: $(BENCH_OBJ) $(BUILD)/libbeseda-common.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lm -lev
$(BUILD)/libbench.a: $(filter-out $(BUILD)/bench/loadgen.o,$(BENCH_OBJ))
	ar rcs $@ $^
$(BUILD)/tests/test_bench_%: tests/unit/test_bench_%.c $(BUILD)/libbench.a $(BUILD)/libbeseda-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -o $@ $< $(BUILD)/libbench.a $(BUILD)/libbeseda-common.a $(LDLIBS) -lm
# `make bench-archive`: archive search p50/p95 over 1 million generated
# messages (bench/archive.mjs; ARCHIVE_ARGS="--messages 200000" for fewer).
.PHONY: bench bench-smoke bench-deps bench-archive
bench-archive: deps
	@$(MAKE) --no-print-directory all
	node bench/archive.mjs $(ARCHIVE_ARGS)
bench-deps: deps
	@bench/deps.sh
bench: bench-deps
	@$(MAKE) --no-print-directory all $(BUILD)/beseda-loadgen
	ulimit -n $$(ulimit -Hn) && node bench/run.mjs $(BENCH_ARGS)
bench-smoke: deps
	@$(MAKE) --no-print-directory all $(BUILD)/beseda-loadgen
	ulimit -n $$(ulimit -Hn) && node bench/run.mjs --smoke $(BENCH_ARGS)

# ---- besedactl: the operators' command-line tool (docs/CTL.md) ------------
# build/besedactl from ctl/*.c (ctl/main.c holds main); part of `all`. Its
# unit tests tests/unit/test_ctl_*.c link build/libctl.a.
CTL_SRC = $(wildcard ctl/*.c)
CTL_OBJ = $(CTL_SRC:%.c=$(BUILD)/%.o)
$(CTL_OBJ): $(wildcard ctl/*.h)
all: $(BUILD)/besedactl
$(BUILD)/besedactl: $(CTL_OBJ) $(BUILD)/libbeseda-common.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/libctl.a: $(filter-out $(BUILD)/ctl/main.o,$(CTL_OBJ))
	ar rcs $@ $^
$(BUILD)/tests/test_ctl_%: tests/unit/test_ctl_%.c $(BUILD)/libctl.a $(BUILD)/libbeseda-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ictl -o $@ $< $(BUILD)/libctl.a $(BUILD)/libbeseda-common.a $(LDLIBS)

# ---- fuzz: libFuzzer targets for every parser of outside input ------------
# tests/fuzz/fuzz_<process>_<thing>.c, linked like unit tests with
# lib<process>.a; everything is compiled by clang into build-fuzz/ with
# coverage and ASan + UBSan. `make fuzz` runs each target FUZZ_SECONDS
# (default 30) from its seed corpus tests/fuzz/corpus/<thing>/ and fails on a
# crash, leaving the reproducer in build-fuzz/fuzz/ (docs/TESTING.md).
FUZZ_SECONDS ?= 30
FUZZ_SRC      = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_CFLAGS   = -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(foreach p,$(PROCESSES),$(BUILD)/lib$(p).a) $(BUILD)/libbeseda-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(foreach p,$(PROCESSES),-I$(p)) -o $@ $< \
	  $(foreach p,$(PROCESSES),$(BUILD)/lib$(p).a) $(BUILD)/libbeseda-common.a $(LDLIBS) -lev
# The seed writer (see its header); links like a fuzz target, without libFuzzer.
$(BUILD)/fuzz/make_corpus: tests/fuzz/make_corpus.c $(foreach p,$(PROCESSES),$(BUILD)/lib$(p).a) $(BUILD)/libbeseda-common.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(foreach p,$(PROCESSES),-I$(p)) -o $@ $< \
	  $(foreach p,$(PROCESSES),$(BUILD)/lib$(p).a) $(BUILD)/libbeseda-common.a $(LDLIBS) -lev
.PHONY: fuzz fuzz-build fuzz-corpus
fuzz-corpus:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" build-fuzz/fuzz/make_corpus
	build-fuzz/fuzz/make_corpus tests/fuzz/corpus
fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
	  $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

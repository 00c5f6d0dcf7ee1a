# hamlet - one non-recursive GNU Makefile (pkg-config, -MMD -MP).
#
#   make            build train/hamlet (and milter/hamlet-milter)
#   make test       install missing Debian packages, build, run unit and
#                   functional tests (with a ThreadSanitizer hamlet-milter
#                   stress), then again under ASan+UBSan
#   make tsan       hamlet-milter under ThreadSanitizer in build-tsan/
#   make run        score the bundled sample messages (built-in defaults)
#   make bench      corpus benchmarks (fetches the corpus into a cache)
#   make install    PREFIX=/usr/local DESTDIR=
#
# BUILD=dir SAN=1 builds a sanitizer tree in dir (make test uses build-asan);
# BUILD=dir TSAN=1 a ThreadSanitizer one (make tsan: build-tsan).

PREFIX	?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DESTDIR	?=
BUILD	?= build
SAN	?=
TSAN	?=
CC	?= cc

PKGS	:= gmime-3.0 libpcre2-8 lmdb gumbo libmagic opendkim libcares libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libclamav 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lspf2 -lopendmarc
# libclamav is not linked: engine/av.c dlopens it by this soname when
# av_db_dir is set (test_av also calls it directly)
CLAMAV_LIBS := $(shell pkg-config --libs libclamav 2>/dev/null)
CLAMAV_SONAME := $(shell readelf -d "$$(pkg-config --variable=libdir libclamav 2>/dev/null)/libclamav.so" 2>/dev/null | sed -n 's/.*soname: \[\(.*\)\].*/\1/p')
MILTER_LIBS := $(shell pkg-config --libs milter 2>/dev/null || echo -lmilter)

WARN	:= -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wvla -Wno-unused-parameter
OPT	?= -O2
CFLAGS	?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8 \
	   -DHAMLET_RULES_DIR='"$(PREFIX)/share/hamlet/rules"' \
	   -DHAMLET_SYSCONF='"$(SYSCONFDIR)/hamlet"' \
	   -DHAMLET_SRC_RULES='"$(CURDIR)/rules/default"' \
	   -DHAMLET_CLAMAV_SONAME='"$(or $(CLAMAV_SONAME),libclamav.so)"' \
	   -I. $(WARN) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -pthread
ALL_LDFLAGS := -pthread -Wl,--as-needed $(LDFLAGS)

ifneq ($(SAN),)
ALL_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=undefined -O1
ALL_LDFLAGS += -fsanitize=address,undefined
endif
ifneq ($(TSAN),)
ALL_CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer -O1
ALL_LDFLAGS += -fsanitize=thread
endif

ifeq ($(BUILD),build)
HAMLET	:= train/hamlet
MILTER	:= milter/hamlet-milter
else
HAMLET	:= $(BUILD)/bin/hamlet
MILTER	:= $(BUILD)/bin/hamlet-milter
endif

LIB_SRC	:= $(wildcard engine/*.c rules/*.c bayes/*.c) \
	   $(filter-out train/hamlet.c,$(wildcard train/*.c))
MIL_SRC	:= $(filter-out milter/main.c,$(wildcard milter/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJ	:= $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MIL_OBJ	:= $(MIL_SRC:%.c=$(BUILD)/obj/%.o)
LIBA	:= $(BUILD)/libhamlet.a
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

PROGS	:= $(HAMLET)
ifneq ($(wildcard milter/main.c),)
PROGS	+= $(MILTER)
endif

.PHONY: all test unit functional fuzz-replay fuzz asan tsan run bench deps install clean
all: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(HAMLET): $(BUILD)/obj/train/hamlet.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(PKG_LIBS) -lm

$(MILTER): $(BUILD)/obj/milter/main.o $(MIL_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(MIL_OBJ) $(LIBA) $(MILTER_LIBS) $(PKG_LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testhelp.h $(LIBA) $(MIL_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(MIL_OBJ) $(LIBA) \
	    $(MILTER_LIBS) $(PKG_LIBS) $(CLAMAV_LIBS) -lm

# fuzz targets built with a replay main (no libFuzzer needed)
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIBA) \
	    $(PKG_LIBS) -lm

deps:
	@sh tests/deps.sh

unit: $(UNIT_BIN)
	@sh tests/run_unit.sh $(BUILD) $(UNIT_BIN)

fuzz-replay: $(FUZZ_BIN)
	@sh tests/run_fuzz_replay.sh $(BUILD) $(FUZZ_BIN)

# TSAN_MILTER=path: also run tests/functional/65-milter-tsan.sh with it
functional: $(PROGS)
	@HAMLET=$(CURDIR)/$(HAMLET) HAMLET_MILTER=$(CURDIR)/$(MILTER) \
	    HAMLET_MILTER_TSAN=$(TSAN_MILTER) \
	    BUILD=$(CURDIR)/$(BUILD) sh tests/run_functional.sh

# the whole suite, twice: optimized (plus the milter under TSan), then
# ASan+UBSan
test: deps
	@rm -f build/.results build-asan/.results
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory tsan
	$(MAKE) --no-print-directory unit fuzz-replay functional \
	    TSAN_MILTER=$(CURDIR)/build-tsan/bin/hamlet-milter
	$(MAKE) --no-print-directory BUILD=build-asan SAN=1 all
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(MAKE) --no-print-directory BUILD=build-asan SAN=1 unit fuzz-replay functional
	@sh tests/summary.sh build/.results build-asan/.results

asan:
	$(MAKE) BUILD=build-asan SAN=1 all

# only the milter: libmilter itself is not instrumented (see
# tests/data/milter/tsan.supp)
tsan:
	$(MAKE) --no-print-directory BUILD=build-tsan TSAN=1 build-tsan/bin/hamlet-milter

run: deps all
	@sh tests/run_samples.sh $(HAMLET)

bench: deps all
	@sh tests/deps.sh bench
	@sh tests/bench/bench.sh $(CURDIR)/$(HAMLET)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)$(PREFIX)/share/hamlet/rules $(DESTDIR)$(SYSCONFDIR)/hamlet
	install -m 755 $(HAMLET) $(DESTDIR)$(PREFIX)/bin/hamlet
	if [ -f $(MILTER) ]; then install -m 755 $(MILTER) $(DESTDIR)$(PREFIX)/sbin/hamlet-milter; fi
	if ls rules/default/*.cf >/dev/null 2>&1; then \
	    install -m 644 rules/default/*.cf $(DESTDIR)$(PREFIX)/share/hamlet/rules/; fi
	install -m 644 hamlet.conf.sample $(DESTDIR)$(SYSCONFDIR)/hamlet/hamlet.conf.sample

clean:
	rm -rf build build-asan build-tsan train/hamlet milter/hamlet-milter

# header dependencies of the tree being built (any BUILD=dir, not only build/)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# real fuzzing with libFuzzer (clang): make fuzz FUZZ_TARGET=msg FUZZ_SECONDS=60
FUZZ_TARGET ?= msg
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang SAN=1 CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" build-fuzz/libhamlet.a
	clang $(ALL_CFLAGS) -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz-$(FUZZ_TARGET) \
	    tests/fuzz/fuzz_$(FUZZ_TARGET).c build-fuzz/libhamlet.a $(PKG_LIBS) -lm
	mkdir -p build-fuzz/corpus-$(FUZZ_TARGET)
	build-fuzz/fuzz-$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) \
	    build-fuzz/corpus-$(FUZZ_TARGET) tests/fuzz/corpus/$(FUZZ_TARGET)

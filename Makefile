# digitlens — one way to build, one way to test.
#   make demo    build what is missing, serve web/ on 127.0.0.1:$(PORT)
#   make test    install what is missing, build native + WASM, run every test
#   make train   train both networks on full MNIST (writes weights/)
.DEFAULT_GOAL := all
SHELL := /bin/bash
PORT ?= 8000
export NODE_PATH := /usr/share/nodejs

# Native code for any x86-64 CPU, whatever CPU builds it: the baseline
# Debian 12 supports (SSE2, all that c/simd.h's 4-lane path uses), never
# the build machine's own CPU. A build/ copied to another machine runs there, and valgrind
# 3.19, which cannot decode AVX-512, can run what an AVX-512 machine built
# (tests/node/reliability.test.js checks the binaries for it). On another
# architecture, the compiler's default.
ARCH_FLAGS := $(if $(filter x86_64,$(shell uname -m)),-march=x86-64 -mtune=generic)
CC      := gcc
CFLAGS  := -std=c11 -O3 $(ARCH_FLAGS) -ffp-contract=off -fopenmp \
           -Wall -Wextra -Wno-unused-parameter -D_POSIX_C_SOURCE=200809L -Ic
LDLIBS  := -lm -fopenmp

NET_SRC  := c/status.c c/arch.c c/model.c c/conv.c c/layers.c c/optim.c c/safetensors.c
LIB_SRC  := $(NET_SRC) c/gradcam.c c/preprocess.c \
            c/idx.c c/file.c c/train.c c/cam_methods.c
LIB_OBJ  := $(LIB_SRC:c/%.c=build/obj/%.o)
CLI_SRC  := $(wildcard tools/*.c)
CLI_OBJ  := $(CLI_SRC:tools/%.c=build/obj/tools/%.o)
HDRS     := $(wildcard c/*.h) $(wildcard tools/*.h)

# Each C test links only what it exercises, so one module can be built and
# tested while another is still being written.
TESTS := net gradcam io preprocess train methods tune
NET_OBJ := $(NET_SRC:c/%.c=build/obj/%.o)
build/test_net:        build/obj/gradcam.o $(NET_OBJ)
build/test_gradcam:    build/obj/gradcam.o $(NET_OBJ)
build/test_methods:    build/obj/cam_methods.o build/obj/gradcam.o $(NET_OBJ)
build/test_io:         build/obj/idx.o build/obj/file.o $(NET_OBJ)
build/test_preprocess: build/obj/preprocess.o build/obj/status.o build/obj/tools/png.o
build/test_train:      build/obj/train.o build/obj/file.o build/obj/preprocess.o $(NET_OBJ)
# (test_tune includes c/wasm_train.c, the training module's exports, natively)
build/test_tune:       c/wasm_train.c build/obj/train.o build/obj/file.o build/obj/preprocess.o $(NET_OBJ)

.PHONY: all native wasm test test-c test-node test-browser demo setup data train clean
all: native wasm
native: build/digitlens $(TESTS:%=build/test_%)

# build/.cflags holds the flags the objects were built with: other flags
# (a build/ from an older Makefile, CFLAGS=... on the command line) rebuild
# them rather than link objects built for another CPU. (Written at the end
# of this file, once every flag is set.)
FLAGS_STAMP := build/.cflags
build/obj/%.o: c/%.c $(HDRS) $(FLAGS_STAMP) | build/obj
	$(CC) $(CFLAGS) -c $< -o $@
build/obj/tools/%.o: tools/%.c $(HDRS) $(FLAGS_STAMP) | build/obj
	@mkdir -p build/obj/tools
	$(CC) $(CFLAGS) -c $< -o $@
build/obj:
	@mkdir -p build/obj/tools
build/digitlens: $(CLI_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) $^ -o $@ -lpng $(LDLIBS)
build/test_%: tests/c/test_%.c tests/c/testutil.h $(HDRS) $(FLAGS_STAMP)
	$(CC) $(CFLAGS) -Itests/c $< $(filter %.o,$^) -o $@ -lcmocka -lpng $(LDLIBS)

# ---- WebAssembly and the page's files ------------------------------------
# Standalone modules, no imports, fixed memory. c/wasm_api.c holds every
# export and all the memory (static buffers, ~8.5 MB, mostly the 1024x1024
# RGBA preprocess input); the memory never grows. The build fails if a module
# imports anything. Four modules (the widget's download):
#   web/digitlens.wasm             Grad-CAM alone (-DDL_WASM_GRADCAM_ONLY, no
#                                  c/cam_methods.c), SIMD: what the page loads
#   web/digitlens-full.wasm        every CAM method, SIMD: loaded when another
#                                  method is chosen, and by load() by default
#   web/digitlens[-full]-nosimd.wasm  the same without SIMD, for the browsers
#                                  without it (only they download these)
# web/digit-lens.min.js is web/digit-lens.js and web/digitlens.js bundled and
# minified (esbuild): the one script a page loads; the two readable sources
# stay next to it. web/ also gets the default weights and the page's sample
# digits (built from the fetched MNIST test set, so not committed).
EMCC      := emcc
ESBUILD   := node_modules/.bin/esbuild
WASM_LIB  := $(NET_SRC) c/gradcam.c c/preprocess.c c/idx.c
WASM_SRC  := $(WASM_LIB) c/wasm_api.c c/cam_methods.c
WASM_FLAGS := -std=c11 -O3 -ffp-contract=off -Ic --no-entry -sSTANDALONE_WASM \
              -sALLOW_MEMORY_GROWTH=0 -sINITIAL_MEMORY=12582912 \
              -sTOTAL_STACK=262144 -sERROR_ON_UNDEFINED_SYMBOLS=1
# Size: the layers and Grad-CAM (conv.c, layers.c, model.c, gradcam.c), the
# path of every drawing, are compiled $(WASM_HOT_OPT); the rest (parsing the
# weights and the architecture they describe, messages, preprocessing, the
# exports' argument checks, the other CAM methods, whose cost is their extra
# forward passes) -Oz. -O2 rather than -O3: 1.5 KB smaller gzipped and as
# fast. No auto-vectorising: every hot loop is written with simd.h's
# vectors already, and what the vectoriser added (copies of the scalar
# tails, with checks for overlapping arrays) was 800 bytes gzipped of the
# module for no speed (interleaved A/B, 2026-12-06). -Os or -Oz everywhere
# would shrink it further but make a forward 2-5x slower.
WASM_HOT_OPT ?= -O2 -fno-vectorize -fno-slp-vectorize
WASM_COLD := c/status.c c/arch.c c/optim.c c/safetensors.c c/idx.c c/preprocess.c c/wasm_api.c c/cam_methods.c
WASM_CC    = $(EMCC) -std=c11 -ffp-contract=off -Ic $(if $(filter $<,$(WASM_COLD)),-Oz,$(WASM_HOT_OPT))
build/wasm/simd/%.o: c/%.c $(HDRS)
	@mkdir -p $(@D)
	$(WASM_CC) $(WASM_SIMD) -c $< -o $@
build/wasm/nosimd/%.o: c/%.c $(HDRS)
	@mkdir -p $(@D)
	$(WASM_CC) -c $< -o $@
build/wasm/simd/wasm_api_gradcam.o: c/wasm_api.c $(HDRS)
	@mkdir -p $(@D)
	$(WASM_CC) -DDL_WASM_GRADCAM_ONLY $(WASM_SIMD) -c $< -o $@
build/wasm/nosimd/wasm_api_gradcam.o: c/wasm_api.c $(HDRS)
	@mkdir -p $(@D)
	$(WASM_CC) -DDL_WASM_GRADCAM_ONLY -c $< -o $@
# the small module's Grad-CAM: the closed form alone (c/gradcam.c says why)
build/wasm/simd/gradcam_closed.o: c/gradcam.c $(HDRS)
	@mkdir -p $(@D)
	$(WASM_CC) -DDL_GRADCAM_CLOSED_ONLY $(WASM_SIMD) -c $< -o $@
build/wasm/nosimd/gradcam_closed.o: c/gradcam.c $(HDRS)
	@mkdir -p $(@D)
	$(WASM_CC) -DDL_GRADCAM_CLOSED_ONLY -c $< -o $@
WASM_GRADCAM_OBJ = $(filter-out %/gradcam.o,$(WASM_LIB:c/%.c=build/wasm/$(1)/%.o)) \
                   build/wasm/$(1)/gradcam_closed.o build/wasm/$(1)/wasm_api_gradcam.o
WASM_FULL_OBJ    = $(WASM_SRC:c/%.c=build/wasm/$(1)/%.o)
# The SIMD builds also use the features every engine with SIMD has had
# since before it (bulk memory: memcpy and memset as one instruction each;
# saturating float-to-int; sign extension): 580 bytes gzipped less. The
# -nosimd builds stay at the first version of WebAssembly.
WASM_SIMD    := -msimd128 -mbulk-memory -mnontrapping-fptoint -msign-ext
WASM_OPT_SIMD   := --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
WASM_OPT_NOSIMD := --mvp-features --enable-mutable-globals --enable-sign-ext
# the page's default network (two-conv) and the seed network, fetched when
# a visitor first switches to it or compares the two
WEB_WEIGHTS := web/twoconv.safetensors
WEB_DATA  := $(WEB_WEIGHTS) web/seednet.safetensors web/samples.bin
WEB_WASM  := web/digitlens.wasm web/digitlens-nosimd.wasm web/digitlens-full.wasm web/digitlens-full-nosimd.wasm
# the C the page links to, so a reader can follow Grad-CAM from the page
WEB_SRC   := web/src/digitlens.h web/src/model.c web/src/conv.c web/src/layers.c web/src/gradcam.c \
             web/src/cam_methods.c
# zero imports, or the rule fails (a libc call that needs WASI would add one)
WASM_NO_IMPORTS = node -e 'const f=process.argv[1], i=WebAssembly.Module.imports(new WebAssembly.Module(require("fs").readFileSync(f))); if (i.length) { console.error(f + ": imports " + i.map(x => x.module + "." + x.name).join(", ")); process.exit(1) }'
# $(call WASM_LINK,emcc flags,wasm-opt flags): objects ($^) -> $@
define WASM_LINK
	@mkdir -p build
	$(EMCC) $(WASM_FLAGS) $(1) $^ -o build/$(basename $(notdir $@)).raw.wasm
	wasm-opt -O3 $(2) --strip-debug --strip-producers build/$(basename $(notdir $@)).raw.wasm -o $@.tmp
	@$(WASM_NO_IMPORTS) $@.tmp && mv -f $@.tmp $@
endef
wasm: $(WEB_WASM) web/digit-lens.min.js web/digit-lens.one.js $(WEB_DATA) $(WEB_SRC)
web/src/%: c/%
	@mkdir -p web/src
	cp -f $< $@
web/digitlens.wasm: $(call WASM_GRADCAM_OBJ,simd)
	$(call WASM_LINK,$(WASM_SIMD),$(WASM_OPT_SIMD))
# the same module with its functions' names, for make bench's byte
# accounting (tools/bench/sizes.mjs); the same code, byte for byte
build/wasm/digitlens.names.wasm: $(call WASM_GRADCAM_OBJ,simd)
	$(EMCC) $(WASM_FLAGS) $(WASM_SIMD) --profiling-funcs $^ -o build/wasm/digitlens.names.raw.wasm
	wasm-opt -O3 $(WASM_OPT_SIMD) --debuginfo --strip-producers build/wasm/digitlens.names.raw.wasm -o $@
web/digitlens-nosimd.wasm: $(call WASM_GRADCAM_OBJ,nosimd)
	$(call WASM_LINK,,$(WASM_OPT_NOSIMD))
web/digitlens-full.wasm: $(call WASM_FULL_OBJ,simd)
	$(call WASM_LINK,$(WASM_SIMD),$(WASM_OPT_SIMD))
web/digitlens-full-nosimd.wasm: $(call WASM_FULL_OBJ,nosimd)
	$(call WASM_LINK,,$(WASM_OPT_NOSIMD))
# tools/bundle.mjs (esbuild): digit-lens.min.js, the ES module a page loads
# next to its files; digit-lens.one.js, a classic script with the Grad-CAM
# wasm and the default weights inside, for a page opened from disk or a host
# where one file is all there can be (Grad-CAM alone, SIMD browsers, no
# samples unless given by URL).
web/digit-lens.min.js: web/digit-lens.js web/digitlens.js tools/bundle.mjs | $(ESBUILD)
	node tools/bundle.mjs esm $@
web/digit-lens.one.js: web/digit-lens.js web/digitlens.js tools/bundle.mjs web/digitlens.wasm $(WEB_WEIGHTS) | $(ESBUILD)
	node tools/bundle.mjs one $@ web/digitlens.wasm $(WEB_WEIGHTS)
$(ESBUILD):
	@bash tools/setup.sh
# The page's weights: "d4" (fc.weight as 4-bit differences of levels on a
# grid of 0.6 x each row's RMS for the seed network, 0.5 for the two-conv
# network, GPTQ-rounded on 10,000 training images; the two-conv network's
# convolutions too, step 0.5 x each channel's RMS; the seed network's conv
# int8; biases F16; only the metadata that describes the
# network and the quantization): weights/README.md. Committed; `make
# quantize` makes them again, byte for byte, from the F32 files.
web/%.safetensors: weights/%-d4.safetensors
	cp -f $< $@
.PHONY: quantize
quantize: build/digitlens data
	build/digitlens quantize --dtype d4 --step 0.6 --calibrate 10000 \
	  --weights weights/seednet.safetensors --out weights/seednet-d4.safetensors
	build/digitlens quantize --dtype d4 --step 0.5 --conv-step 0.5 --calibrate 10000 \
	  --weights weights/twoconv.safetensors --out weights/twoconv-d4.safetensors
web/samples.bin: tools/make_samples.mjs data/mnist/.verified
	node tools/make_samples.mjs data/mnist/t10k-images-idx3-ubyte data/mnist/t10k-labels-idx1-ubyte $@

# ---- set-up, data ------------------------------------------------------
setup:
	@bash tools/setup.sh
data: data/mnist/.verified
data/mnist/.verified: tools/fetch_mnist.sh
	@bash tools/fetch_mnist.sh data/mnist

# Digits that are not MNIST's: pen strokes (tools/drawn/strokes.mjs, the
# committed seed) played as mouse drags on the page's pad in headless
# Chromium, preprocessed by the page's code (tools/drawn/render.mjs):
#   data/drawn/drawn/   1,100 digits in ten styles   t10k-images-idx3-ubyte
#   data/drawn/writer/  300 digits of one hand       t10k-labels-idx1-ubyte
#   data/drawn/{drawn,writer}-styles.json            each image's style
# `build/digitlens eval --data data/drawn/drawn` scores a set,
# tools/drawn/score.mjs per style (tools/drawn/README.md). Same bytes every run.
.PHONY: drawn
DRAWN_SRC := tools/drawn/strokes.mjs tools/drawn/render.mjs tools/drawn/pad.html \
             tools/drawn/pad.js tools/drawn/pad.css
drawn: setup
	@$(MAKE) --no-print-directory data/drawn/.built $(SLANT)
data/drawn/.built: $(DRAWN_SRC) web/digitlens.js web/digitlens.wasm web/digitlens-nosimd.wasm \
                   web/seednet.safetensors
	node tools/drawn/render.mjs --out data/drawn
	@touch $@
# data/drawn/writer-slant/: the writer with a heavier slant and a thicker pen
# (tools/drawn/slant.mjs, from data/drawn/writer, no randomness): the new
# writer that teaching is measured on (the two-conv network reads the writer
# as drawn at 100 %, this one at 75 %)
SLANT := data/drawn/writer-slant/t10k-images-idx3-ubyte
$(SLANT): data/drawn/.built tools/drawn/slant.mjs web/digitlens.js web/digitlens.wasm
	node tools/drawn/slant.mjs --out data/drawn/writer-slant

# ---- tests -------------------------------------------------------------
# One node --test run counts every test: tests/node/c.test.js runs the
# cmocka binaries, the rest test the CLI, the wasm and the page.
# One test file at a time, on any machine: node's default runs files in
# parallel on a machine with more than 2 cores, where the browser tests'
# timings and the training runs would then share the CPU with each other.
# The digits of make drawn too (about 30 s): the tests of its files, the
# report on them and teaching's measurement run on them.
NODE_TEST := node --test --test-concurrency=1
test: setup
	@$(MAKE) --no-print-directory all data data/drawn/.built $(SLANT)
	$(NODE_TEST) tests/node/ tests/browser/

test-c: native
	$(NODE_TEST) tests/node/c.test.js

# make train: both networks, each bit for bit as committed (README, Training),
# with its log; make train-seednet or make train-twoconv: one
.PHONY: train train-seednet train-twoconv
train: train-seednet train-twoconv
train-seednet train-twoconv: train-%: build/digitlens data
	build/digitlens train --arch $* --json --out weights/$*.safetensors > weights/$*.train.jsonl

demo: setup
	@$(MAKE) --no-print-directory wasm
	node tools/serve.mjs web $(PORT)

clean:
	rm -rf build $(WEB_WASM) web/digit-lens.min.js web/digit-lens.one.js $(WEB_DATA) web/src

# ---- bench ---------------------------------------------------------------
#   make bench-peers  install the peers: Debian's python3-torch (training,
#                     ONNX export), tfjs + tfjs-backend-wasm + onnxruntime-web
#                     into tools/bench/node_modules (own lock file, so the
#                     main npm ci stays lean)
#   make bench        native + WASM + peers, for both networks (the two-conv
#                     network, compared with the seed network: BENCH_NETS),
#                     one table, build/bench.json; each peer runs the same
#                     network with the same weights. WEIGHTS=FILE benchmarks
#                     that file alone. A missing peer or weights file gets a
#                     row that says so. BENCH_ARGS=--quick: a fast run.
WEIGHTS    ?=
BENCH_NETS := --weights weights/twoconv.safetensors --compare weights/seednet.safetensors
BENCH_ARGS ?=
.PHONY: bench bench-peers
bench: build/digitlens $(WEB_WASM) web/digit-lens.min.js build/wasm/digitlens.names.wasm build/bench/peak.wasm data \
       web/digitlens-train.wasm web/replay.bin web/test1k.bin $(SLANT) \
       $(filter %.safetensors,$(WEB_DATA))
	node tools/bench/run.mjs $(if $(WEIGHTS),--weights $(WEIGHTS) --compare=,$(BENCH_NETS)) $(BENCH_ARGS)
bench-peers:
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch; }
	npm ci --prefix tools/bench --no-audit --no-fund
# the multiply-add loop of the floor, in WASM SIMD (tools/bench/peak.h)
build/bench/peak.wasm: tools/bench/peak_wasm.c tools/bench/peak.h c/simd.h
	@mkdir -p build/bench
	$(EMCC) -std=c11 -O3 -ffp-contract=off -msimd128 -Ic --no-entry -sSTANDALONE_WASM \
	  -sERROR_ON_UNDEFINED_SYMBOLS=1 $< -o $@
build/obj/tools/cli_bench.o: tools/bench/peak.h

# ==== reliability: fuzzing, sanitizers =====================================
# With clang-14 (Debian clang-14; libclang-rt-14-dev holds the sanitizer and
# libFuzzer runtimes, libomp-14-dev OpenMP):
#   make fuzz         build the libFuzzer targets (tests/fuzz/fuzz_*.c: the
#                     safetensors reader, the IDX readers, the PNG input path,
#                     preprocessing, the WASM exports) and run each for
#                     FUZZ_SECONDS (default 60), -fsanitize=fuzzer,address,
#                     undefined, from the committed seeds (tests/fuzz/seeds/)
#                     and regressions; the growing corpus is kept in
#                     build/fuzz/corpus/, a crash is saved in build/fuzz/crashes/
#                     and fails the target. `make -j2 fuzz` runs two at once;
#                     `make fuzz-png` one of them.
#   make fuzz-build   only build them
#   make asan         the cmocka tests under ASan + UBSan: build/asan/test_*
# `make test` runs these through tests/node/reliability.test.js (the C tests
# under the sanitizers, the CLI once under valgrind, the seeds and
# regressions replayed through the fuzz targets, SIGKILL during training).
SAN_CC       ?= clang-14
SAN_FLAGS    := -std=c11 -O1 -g -fno-omit-frame-pointer $(ARCH_FLAGS) -ffp-contract=off \
                -fsanitize=address,undefined -fno-sanitize-recover=all \
                -Wall -Wno-unused-parameter -D_POSIX_C_SOURCE=200809L -Ic
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := safetensors idx png preprocess wasm_api
FUZZ_LIB_SRC  = $(filter-out c/wasm_api.c,$(WASM_SRC)) tools/png.c
ASAN_LIB_SRC  = $(LIB_SRC) tools/png.c
.PHONY: fuzz fuzz-build asan
asan: $(TESTS:%=build/asan/test_%)
build/asan/obj/%.o: %.c $(HDRS) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_FLAGS) -fopenmp -c $< -o $@
build/asan/libdigitlens.a: $(ASAN_LIB_SRC:%.c=build/asan/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
build/asan/test_%: tests/c/test_%.c tests/c/testutil.h build/asan/libdigitlens.a
	$(SAN_CC) $(SAN_FLAGS) -fopenmp -Itests/c $< build/asan/libdigitlens.a -o $@ -lcmocka -lpng -lm

fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
build/fuzz/obj/%.o: %.c $(HDRS) $(FLAGS_STAMP)
	@mkdir -p $(@D)
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
build/fuzz/libdigitlens.a: $(FUZZ_LIB_SRC:%.c=build/fuzz/obj/%.o)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/fuzz_wasm_api: c/wasm_api.c
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libdigitlens.a
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer $< build/fuzz/libdigitlens.a -o $@ -lpng -lm
fuzz: $(FUZZ_TARGETS:%=fuzz-%)
# (not .PHONY: make skips pattern rules for phony targets; no file fuzz-* exists)
fuzz-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus/$* build/fuzz/crashes
	$< -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
	  -artifact_prefix=build/fuzz/crashes/$*- build/fuzz/corpus/$* tests/fuzz/seeds/$* \
	  $(wildcard tests/fuzz/regressions/$*)

# ---- report --------------------------------------------------------------
#   make report  the two-conv and the seed network side by side: accuracy,
#                empty Grad-CAM maps and every CAM method's faithfulness and
#                sanity on the MNIST test set, accuracy per style and
#                Grad-CAM's faithfulness on the drawn sets; figures and
#                metrics in web/results/, README's results part rewritten.
#                The drawn sets are made when missing (`make drawn` makes
#                them again after a change to the pad or the wasm).
REPORT_WEIGHTS := weights/twoconv.safetensors weights/seednet.safetensors
.PHONY: report
report: build/digitlens data $(REPORT_WEIGHTS)
	$(if $(wildcard data/drawn/.built),,@$(MAKE) --no-print-directory drawn)
	build/digitlens report $(REPORT_WEIGHTS:%=--weights %) --drawn data/drawn \
	  --out web/results --readme README.md --faith 2000 --sanity 500

# ---- the flags stamp (see FLAGS_STAMP above) ------------------------------
FLAGS_TEXT := $(CC) $(CFLAGS) | $(SAN_CC) $(SAN_FLAGS)
$(shell mkdir -p build && { echo '$(FLAGS_TEXT)' | cmp -s - $(FLAGS_STAMP) || echo '$(FLAGS_TEXT)' > $(FLAGS_STAMP); })

# ---- teaching in the browser: the training module and its digits ----------
#   web/digitlens-train[-nosimd].wasm  fine-tuning (c/wasm_train.c over the
#                     library's layers, Adam and SGD): fetched only when a
#                     visitor starts teaching (web/digitlens-train.js), zero
#                     imports, fixed memory (its static buffers, ~19 MB: the
#                     batch, the head's inputs, a chunk's activations)
#   web/replay.bin    2,000 MNIST training digits (the first 200 of each
#                     class), mixed into a teaching call so that the network
#                     does not forget
#   web/test1k.bin    1,000 MNIST test digits (the first 100 of each class):
#                     the element's accuracy before and after teaching
# (samples.bin's format, gzip -9: 330 and 160 KB rather than 1.5 and 0.8 MB;
# web/digitlens-train.js unpacks them with DecompressionStream)
TRAIN_WASM_OBJ = $(NET_SRC:c/%.c=build/wasm/$(1)/%.o) build/wasm/$(1)/wasm_train.o
TRAIN_WASM_MEM := -sINITIAL_MEMORY=20971520
TEACH_DATA := web/replay.bin web/test1k.bin
TEACH_WASM := web/digitlens-train.wasm web/digitlens-train-nosimd.wasm
wasm: $(TEACH_WASM) $(TEACH_DATA)
web/digitlens-train.wasm: $(call TRAIN_WASM_OBJ,simd)
	$(call WASM_LINK,$(WASM_SIMD) $(TRAIN_WASM_MEM),$(WASM_OPT_SIMD))
web/digitlens-train-nosimd.wasm: $(call TRAIN_WASM_OBJ,nosimd)
	$(call WASM_LINK,$(TRAIN_WASM_MEM),$(WASM_OPT_NOSIMD))
web/replay.bin: tools/make_samples.mjs data/mnist/.verified
	node tools/make_samples.mjs data/mnist/train-images-idx3-ubyte data/mnist/train-labels-idx1-ubyte build/replay.bin 200
	gzip -9 -n -c build/replay.bin > $@.tmp && mv -f $@.tmp $@
web/test1k.bin: tools/make_samples.mjs data/mnist/.verified
	node tools/make_samples.mjs data/mnist/t10k-images-idx3-ubyte data/mnist/t10k-labels-idx1-ubyte build/test1k.bin 100
	gzip -9 -n -c build/test1k.bin > $@.tmp && mv -f $@.tmp $@
.PHONY: clean-teach
clean: clean-teach
clean-teach:
	rm -f $(TEACH_WASM) $(TEACH_DATA)
# the training module built natively, driven as JS drives it:
# tests/node/teach.test.js compares it with both WASM builds, bit for bit
native: build/teach_native
build/teach_native: tests/c/teach_native.c c/wasm_train.c $(HDRS) build/obj/file.o $(NET_OBJ)
	$(CC) $(CFLAGS) $< $(filter %.o,$^) -o $@ $(LDLIBS)
# make teaching: teaching measured (tools/bench/teach.mjs, as make bench runs
# it: the new writer, MNIST, the time of a call) and its figure,
# web/results/teaching.svg (the README's)
.PHONY: teaching
teaching: $(TEACH_WASM) $(TEACH_DATA) web/digitlens.wasm web/twoconv.safetensors data $(SLANT)
	node tools/bench/teach.mjs --table --svg web/results/teaching.svg

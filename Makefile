# Thin wrapper over scripts/install-deps.sh, CMake and CTest: the README's two
# commands. Everything real lives in CMakeLists.txt.
BUILD      ?= build
BUILD_SAN  ?= build-sanitize
JOBS       ?= $(shell nproc)
REPORTS    ?= reports

.PHONY: all deps configure build run matrix test test-unit test-sanitize sanitize-build test-slow build-types bench lint format clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

# The main job: the whole scenario catalogue against the built-in simulator
# once per profile (WSO2 4.x, WSO2 2.6, SAP's 2023 and current pages), two cases at a time; reports in
# $(REPORTS)/<profile>/ (junit.xml, conformance.json), then one summary line
# per profile. Fails when any profile's run does.
PROFILES ?= wso2-4 wso2-2.6 sap-2023 sap-2026
run: build
	@mkdir -p $(REPORTS); status=0; summary=""; \
	for p in $(PROFILES); do \
	  echo "== profile $$p"; \
	  { $(BUILD)/harness/gatecert run -j $(JOBS) --profile $$p --scenarios scenarios \
	      --reports $(REPORTS)/$$p 2>&1; echo $$? > $(REPORTS)/.rc-$$p; } \
	    | tee $(REPORTS)/.run-$$p.log; \
	  rc=$$(cat $(REPORTS)/.rc-$$p); rm -f $(REPORTS)/.rc-$$p; \
	  summary="$$summary$$p: $$(tail -n 1 $(REPORTS)/.run-$$p.log)\n"; \
	  [ $$rc -eq 0 ] || status=$$rc; \
	done; \
	printf '== summary\n%b' "$$summary"; exit $$status

# The conformance matrix: the catalogue against the simulator (wso2-4, wso2-2.6,
# sap-2023 and sap-2026 profiles), nginx, HAProxy, Apache (an exec program) and Caddy (their known failures listed in
# harness/drivers/*.known), combined into $(REPORTS)/matrix.json, the console
# table and the README's table between its matrix markers.
matrix: build
	@$(BUILD)/harness/gatecert run -j $(JOBS) --profile wso2-4 --scenarios scenarios \
	  --reports $(REPORTS)/sim-wso2-4
	@$(BUILD)/harness/gatecert run -j $(JOBS) --profile wso2-2.6 --scenarios scenarios \
	  --reports $(REPORTS)/sim-wso2-2.6
	@$(BUILD)/harness/gatecert run -j $(JOBS) --profile sap-2023 --scenarios scenarios \
	  --reports $(REPORTS)/sim-sap-2023
	@$(BUILD)/harness/gatecert run -j $(JOBS) --profile sap-2026 --scenarios scenarios \
	  --reports $(REPORTS)/sim-sap-2026
	@$(BUILD)/harness/gatecert run -j $(JOBS) --driver nginx --profile wso2-4 --scenarios scenarios \
	  --known-failures harness/drivers/nginx.known --reports $(REPORTS)/nginx
	@$(BUILD)/harness/gatecert run -j $(JOBS) --driver haproxy --profile wso2-4 --scenarios scenarios \
	  --known-failures harness/drivers/haproxy.known --reports $(REPORTS)/haproxy
	@$(BUILD)/harness/gatecert run -j $(JOBS) --profile wso2-4 --scenarios scenarios \
	  --driver exec:harness/drivers/apache/gatecert-apache.sh \
	  --known-failures harness/drivers/apache.known --reports $(REPORTS)/apache
	@$(BUILD)/harness/gatecert run -j $(JOBS) --driver caddy --profile wso2-4 --scenarios scenarios \
	  --known-failures harness/drivers/caddy.known --reports $(REPORTS)/caddy
	@$(BUILD)/harness/gatecert matrix --out $(REPORTS)/matrix.json --readme README.md \
	  $(REPORTS)/sim-wso2-4 $(REPORTS)/sim-wso2-2.6 $(REPORTS)/sim-sap-2023 \
	  $(REPORTS)/sim-sap-2026 $(REPORTS)/nginx $(REPORTS)/haproxy \
	  $(REPORTS)/apache $(REPORTS)/caddy

# Every test but the slow ones, the lint and the benchmarks, in the normal
# build; then the unit tests again under ASan+UBSan.
# Under 8 minutes on two cores from a fresh clone (the packages installed).
FAST = -LE 'bench|slow|lint'
test: build
	@cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) $(FAST)
	@$(MAKE) --no-print-directory test-sanitize

# What `make test` leaves out and CI runs after it: static analysis (label
# lint: clang-format, clang-tidy, cppcheck, shellcheck), the long checks
# (label slow: the whole catalogue through the exec protocol and the Apache
# exec program, three shards merged, the .deb, the libFuzzer runs) and, in
# the sanitizer build, the whole catalogue under ASan+UBSan, every profile
# (label sanitize-slow).
test-slow: build sanitize-build
	@cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) -L 'slow|lint'
	@cd $(BUILD_SAN) && ctest --output-on-failure --no-tests=error -j $(JOBS) -L '^sanitize-slow$$'

# Every CMake build type builds: Debug and Release here (RelWithDebInfo is
# $(BUILD), the sanitizer configuration $(BUILD_SAN)).
build-types: deps
	@for type in Debug Release; do \
	  echo "== build type $$type"; \
	  cmake -S . -B build-$$type -DCMAKE_BUILD_TYPE=$$type >/dev/null && \
	  cmake --build build-$$type -j $(JOBS) -- --no-print-directory >/dev/null || exit 1; \
	done; echo "== Debug and Release build"

test-unit: build
	@cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) -L unit

# The unit tests under ASan+UBSan (the catalogue under them: test-slow).
test-sanitize: sanitize-build
	@cd $(BUILD_SAN) && ctest --output-on-failure --no-tests=error -j $(JOBS) -L unit

sanitize-build: deps
	@cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DGATECERT_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD_SAN) -j $(JOBS) -- --no-print-directory

bench: build
	@cd $(BUILD) && ctest -L bench -V 2>&1 | sed -n "s/^[0-9]*: //p" | grep -vE "^( [A-Z_]+=|Test command|Working Directory|Environment|Test timeout)"

lint: build
	@bash scripts/lint.sh $(BUILD)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_SAN) build-Debug build-Release

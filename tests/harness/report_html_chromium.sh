#!/usr/bin/env bash
# report_html_chromium.sh GATECERT SIM BACKEND SCRATCH
#
# The HTML report as a browser sees it. Writes three scenarios into SCRATCH
# (a reload case with a clock step: upload at 597 s, a call at 599 s that must
# still fail, the sender's tick at 600 s, a call at 601 s that must pass; a
# plain call; a call expecting a status the gateway never answers, which
# fails on purpose), runs them, and a second time the reload case alone
# against gatecert-sim --break immediate-reload (the reload bug: the call at
# 599 s now fails). Each run's reports/index.html is loaded from file:// by
# headless Chromium; the DOM it printed (--dump-dom) is checked with xmllint's
# XPath: the summary's counts, the timeline's call marks (how many, which red
# at 599 s, which green at 601 s), the sender's ticks at 600 and 1200 s. The
# screenshots (--screenshot, 1400x2000) stay in SCRATCH; their paths are
# printed. Then `gatecert matrix` over both runs: matrix.html beside
# matrix.json links each column to its run's index.html (relative paths).
# Exits 77 (skipped) when no chromium is installed.
set -uo pipefail
gatecert=$1 sim=$2 backend=$3 scratch=$4
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$chromium" ]]; then
  echo "report_html_chromium: no chromium (scripts/install-deps.sh installs it)"
  exit 77
fi
fail() {
  echo "report_html_chromium: $*" >&2
  exit 1
}
rm -rf "$scratch" && mkdir -p "$scratch/scenarios/reload" "$scratch/scenarios/plain" || exit 1

cat >"$scratch/scenarios/reload/around-tick.yaml" <<'EOF'
name: upload just before the tick
features: [reload]
gateway: {sender_reload_interval: 600s}
pki:
  root: {kind: ca}
  echo-cert: {kind: server, issuer: root, san: [localhost]}
backends:
  echo: {cert: echo-cert}
apis:
  test: {context: /test, version: "1.0", backend: echo}
steps:
  - advance_to: 597s
  - upload_endpoint_cert: {alias: echo, backend: echo, cert: root}
    expect: {status: 201}
  - advance_to: 599s
  - call: {api: test, path: /menaka}
    expect: {status: 500, backend_reached: false}
  - advance_to: 601s
  - call: {api: test, path: /menaka}
    expect: {status: 200}
EOF
cat >"$scratch/scenarios/plain/call.yaml" <<'EOF'
name: a trusted backend answers
features: [backend-trust]
pki:
  root: {kind: ca}
  echo-cert: {kind: server, issuer: root, san: [localhost]}
backends:
  echo: {cert: echo-cert}
gateway: {trust: [root]}
apis:
  test: {context: /test, version: "1.0", backend: echo}
steps:
  - call: {api: test, path: /a}
    expect: {status: 200}
EOF
cat >"$scratch/scenarios/plain/wrong.yaml" <<'EOF'
name: this case fails on purpose <script>alert(1)</script>
features: [backend-trust]
pki:
  root: {kind: ca}
  echo-cert: {kind: server, issuer: root, san: [localhost]}
backends:
  echo: {cert: echo-cert}
gateway: {trust: [root]}
apis:
  test: {context: /test, version: "1.0", backend: echo}
steps:
  - call: {api: test, path: /a}
    expect: {status: 418}
EOF

run() { # run NAME [gatecert run args...]
  local name=$1
  shift
  "$gatecert" run --scenarios "$scratch/scenarios" --reports "$scratch/$name" \
    --sim-bin "$sim" --backend-bin "$backend" "$@" >"$scratch/$name.out" 2>&1
}
render() { # render NAME: dom and screenshot of NAME/index.html
  local name=$1 t0 t1
  t0=$(date +%s%N)
  timeout 120 "$chromium" --headless --disable-gpu --no-sandbox --no-first-run \
    --user-data-dir="$scratch/profile-$name" --dump-dom "file://$scratch/$name/index.html" \
    >"$scratch/$name.dom.html" 2>"$scratch/$name.chromium.log" ||
    fail "chromium --dump-dom failed: $(tail -5 "$scratch/$name.chromium.log")"
  timeout 120 "$chromium" --headless --disable-gpu --no-sandbox --no-first-run \
    --user-data-dir="$scratch/profile-$name" --window-size=1400,2000 \
    --screenshot="$scratch/$name.png" "file://$scratch/$name/index.html" \
    >>"$scratch/$name.chromium.log" 2>&1 || fail "chromium --screenshot failed"
  t1=$(date +%s%N)
  [[ -s "$scratch/$name.png" ]] || fail "no screenshot $scratch/$name.png"
  echo "screenshot: $scratch/$name.png (chromium: $(((t1 - t0) / 1000000)) ms for both)"
}
xp() { # xp NAME XPATH: the number XPATH gives on the DOM chromium printed
  xmllint --html --xpath "$2" "$scratch/$1.dom.html" 2>/dev/null
}
check() { # check NAME WHAT XPATH WANT
  local got
  got=$(xp "$1" "$3")
  [[ "$got" == "$4" ]] || fail "$1: $2: $3 gave '$got', want $4"
  echo "ok  $1: $2 = $4"
}

run good -j 2
status=$?
[[ $status -eq 1 ]] || fail "the run with a failing case should exit 1, got $status: $(cat "$scratch/good.out")"
[[ -s "$scratch/good/index.html" ]] || fail "no index.html beside junit.xml"
render good
reload="//details[@data-name='upload just before the tick']"
rows=(
  "passed in the summary|number(//tr[@id='total']/td[@data-outcome='pass']/@data-count)|2"
  "failed in the summary|number(//tr[@id='total']/td[@data-outcome='fail']/@data-count)|1"
  "errors in the summary|number(//tr[@id='total']/td[@data-outcome='error']/@data-count)|0"
  "three cases|count(//details[@class='case'])|3"
  "the hostile name is text|count(//script)|0"
  "the failure shown|count(//details[@data-outcome='fail']//pre[@class='detail' and contains(., '418')])|1"
  "reload case: call marks|count($reload//*[name()='g' and @data-kind='call'])|2"
  "reload case: green at 599 s|count($reload//*[@data-kind='call' and @data-at-ms='599000' and @data-ok='1'])|1"
  "reload case: green at 601 s|count($reload//*[@data-kind='call' and @data-at-ms='601000' and @data-ok='1'])|1"
  "reload case: sender ticks at 600 s and 1200 s|count($reload//*[@data-kind='tick' and @data-clock='sender' and (@data-at-ms='600000' or @data-at-ms='1200000')])|2"
  "reload case: the upload at 597 s|count($reload//*[@data-kind='change' and @data-at-ms='597000'])|1"
  "reload case: clock steps|count($reload//*[@data-kind='clock'])|3"
  "failed case: its red call|count(//details[@data-outcome='fail']//*[@data-kind='call' and @data-ok='0'])|1"
)
for row in "${rows[@]}"; do
  IFS='|' read -r what xpath want <<<"$row"
  check good "$what" "$xpath" "$want"
done

# The reload bug: the upload applied at once, the call at 599 s red, the tick
# at 600 s drawn after it.
run bug --case "upload just before the tick" --sim-arg=--break --sim-arg=immediate-reload
status=$?
[[ $status -eq 1 ]] || fail "the broken simulator's run should exit 1, got $status"
render bug
rows=(
  "one failed case|number(//tr[@id='total']/td[@data-outcome='fail']/@data-count)|1"
  "one call mark|count(//*[name()='g' and @data-kind='call'])|1"
  "red at 599 s|count(//*[@data-kind='call' and @data-at-ms='599000' and @data-ok='0']/*[@fill='#cf222e'])|1"
  "the next tick at 600 s|count(//*[@data-kind='tick' and @data-clock='sender' and @data-at-ms='600000'])|1"
)
for row in "${rows[@]}"; do
  IFS='|' read -r what xpath want <<<"$row"
  check bug "$what" "$xpath" "$want"
done
# gatecert matrix: matrix.html beside matrix.json, each column linking to its run's report.
mkdir -p "$scratch/matrix"
"$gatecert" matrix --out "$scratch/matrix/matrix.json" "$scratch/good" "$scratch/bug/conformance.json" \
  >"$scratch/matrix.out" 2>&1 || fail "gatecert matrix failed: $(cat "$scratch/matrix.out")"
links=$(xmllint --html --xpath "count(//th/a[@href='../good/index.html'] | //th/a[@href='../bug/index.html'])" \
  "$scratch/matrix/matrix.html" 2>/dev/null)
[[ "$links" == 2 ]] || fail "matrix.html: links to the runs' reports: $links, want 2"
echo "ok  matrix.html links to both reports"
echo "report_html_chromium: ok"

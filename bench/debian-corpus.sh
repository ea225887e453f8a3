#!/usr/bin/env bash
# bench/debian-corpus.sh — build (once, cached) a realistic Debian-like corpus for
# benchmarking Tessera against zsync.
#
# Layout under ${TESSERA_CORPUS_DIR:-$HOME/.cache/tessera/corpus}:
#   debs-old/        the OLD .deb files (bookworm main-suite versions), as named by apt-get download
#   debs-new/        the NEW .deb files (bookworm-security version where newer, else same as old;
#                    unchanged packages are hard links to the debs-old files)
#   seeds-loose/     hard links to every file in debs-old/ (a separate directory so that tools
#                    that walk a seed folder see only the old .debs; no extra disk space)
#   old.iso, new.iso Debian-like images: pool/main/<letter>/<source>/<file>.deb, README.txt,
#                    .disk/info, dists/bookworm/main/binary-amd64/Packages.gz, md5sum.txt
#   manifest-old.tsv, manifest-new.tsv   name version local-file size sha256 pool-path
#   .stamp           hash of the pin list + layout version; if it matches, nothing is rebuilt
#
# Usage: bench/debian-corpus.sh [--force]      (--force rebuilds the ISOs, re-verifies the .debs)
#
# The package set is pinned below (NAME OLDVERSION [NEWVERSION]). If the Debian mirror no
# longer carries a pinned version the script stops with a clear message; then either point
# apt at Debian's snapshot archive for those dates, or re-pin. The pins were taken from the
# bookworm index dated 2026-07-11 and the bookworm-security index dated 2026-11-20.
# Main-suite versions normally disappear at the next point release, so keep the cache.
set -euo pipefail

CORPUS="${TESSERA_CORPUS_DIR:-$HOME/.cache/tessera/corpus}"
LAYOUT_VERSION=1
FORCE=0
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

# Timestamps used inside the images (reproducible ISOs).
OLD_DATE=2026071112000000   # YYYYMMDDhhmmsscc, UTC
NEW_DATE=2026112012000000
OLD_EPOCH=1783771200
NEW_EPOCH=1795176000
OLD_LABEL="DEBIAN_12_TESSERA_OLD"
NEW_LABEL="DEBIAN_12_TESSERA_NEW"

# ---------------------------------------------------------------------------
# Pinned package list.  NAME OLDVERSION [NEWVERSION]
#   OLD = version in the bookworm main suite; NEW = newer version from bookworm-security.
#   A line without NEWVERSION is an unchanged package (same file in both images).
# ---------------------------------------------------------------------------
PINS=$(cat <<'PINS_EOF'
# --- changed between old and new (33 packages) ---
# Not used on purpose: thunderbird/chromium (together with firefox-esr they would push the
# changed share above 30 %); libreoffice-core (its bookworm-security version is OLDER than the
# bookworm one); linux-image-6.1.0-NN-amd64 (the ABI number is part of the package name, so no
# kernel image package has two versions; the kernel is represented by linux-image-amd64 and the
# same-name kernel tool packages below).
firefox-esr              140.12.0esr-1~deb12u1  153.7.0esr-1~deb12u1
openjdk-17-jre-headless  17.0.19+10-1~deb12u2   17.0.21.1+2-1~deb12u1
postgresql-15            15.18-0+deb12u1        15.20-0+deb12u1
linux-image-amd64        6.1.176-1              6.1.192-2
linux-libc-dev           6.1.176-1              6.1.192-2
linux-kbuild-6.1         6.1.176-1              6.1.192-2
linux-perf               6.1.176-1              6.1.192-2
bpftool                  7.1.0+6.1.176-1        7.1.0+6.1.192-2
linux-cpupower           6.1.176-1              6.1.192-2
libcpupower1             6.1.176-1              6.1.192-2
usbip                    2.0+6.1.176-1          2.0+6.1.192-2
hyperv-daemons           6.1.176-1              6.1.192-2
libpython3.11-stdlib     3.11.2-6+deb12u8       3.11.2-6+deb12u9
libpython3.11-minimal    3.11.2-6+deb12u8       3.11.2-6+deb12u9
python3.11               3.11.2-6+deb12u8       3.11.2-6+deb12u9
python3.11-minimal       3.11.2-6+deb12u8       3.11.2-6+deb12u9
libpython3.11            3.11.2-6+deb12u8       3.11.2-6+deb12u9
postgresql-client-15     15.18-0+deb12u1        15.20-0+deb12u1
libpq5                   15.18-0+deb12u1        15.20-0+deb12u1
libecpg6                 15.18-0+deb12u1        15.20-0+deb12u1
libexpat1                2.5.0-1+deb12u2        2.5.0-1+deb12u5
libpng16-16              1.6.39-2+deb12u5       1.6.39-2+deb12u6
libssh-4                 0.10.6-0+deb12u2       0.10.6-0+deb12u3
libssh2-1                1.10.0-3+b1            1.10.0-3+deb12u1
libde265-0               1.0.11-1+deb12u2       1.0.11-1+deb12u3
libarchive13             3.6.2-1+deb12u4        3.6.2-1+deb12u5
rsync                    3.2.7-1+deb12u6        3.5.0+ds1-0+deb12u1
libmariadb3              1:10.11.18-0+deb12u1   1:10.11.19-0+deb12u1
mariadb-common           1:10.11.18-0+deb12u1   1:10.11.19-0+deb12u1
nginx-common             1.22.1-9+deb12u9       1.22.1-9+deb12u11
bind9-host               1:9.18.49-1~deb12u1    1:9.18.49-1~deb12u3
bind9-dnsutils           1:9.18.49-1~deb12u1    1:9.18.49-1~deb12u3
bind9-libs               1:9.18.49-1~deb12u1    1:9.18.49-1~deb12u3
# --- unchanged: base system whose main-suite version is the newest (18) ---
libc6                                        2.36-9+deb12u14
libc-bin                                     2.36-9+deb12u14
libc-l10n                                    2.36-9+deb12u14
locales                                      2.36-9+deb12u14
libc6-dev                                    2.36-9+deb12u14
libsystemd0                                  252.39-1~deb12u2
systemd                                      252.39-1~deb12u2
libudev1                                     252.39-1~deb12u2
udev                                         252.39-1~deb12u2
curl                                         7.88.1-10+deb12u15
libcurl4                                     7.88.1-10+deb12u15
sudo                                         1.9.13p3-1+deb12u4
libxml2                                      2.9.14+dfsg-1.3~deb12u6
git                                          1:2.39.5-0+deb12u3
libicu72                                     72.1-3+deb12u1
emacs-common                                 1:28.2+1-15+deb12u4
libglib2.0-0                                 2.74.6-2+deb12u9
libjavascriptcoregtk-4.1-0                   2.50.6-1~deb12u2
# --- unchanged: big single-version packages (14) ---
fonts-noto-cjk                               1:20220127+repack1-1
golang-1.19-go                               1.19.8-2
libstd-rust-dev                              1.63.0+dfsg1-2
libllvm15                                    1:15.0.6-4+b1
libllvm14                                    1:14.0.6-12
gcc-12                                       12.2.0-14+deb12u1
python3-scipy                                1.10.1-2
fonts-noto-core                              20201225-1
llvm-14                                      1:14.0.6-12
libclang-cpp14                               1:14.0.6-12
g++-12                                       12.2.0-14+deb12u1
gfortran-12                                  12.2.0-14+deb12u1
cpp-12                                       12.2.0-14+deb12u1
vim-runtime                                  2:9.0.1378-2+deb12u2
# --- unchanged: 40 mid-size (1-10 MB) + 150 small (20 kB-1 MB) single-version packages, sampled with a fixed seed ---
apertium-oc-ca                               1.0.7-1
circuslinux-data                             1.0.3-34.1
fonts-baekmuk                                2.2-13
freewnn-cserver                              1.1.1~a021+cvs20130302-7+b2
gearhead-data                                1.310-3
gfortran-12-powerpc64le-linux-gnu            12.2.0-14cross1
glusterfs-common                             10.3-5
gm2-11-arm-linux-gnueabi                     11.3.0-11cross1
gnurobbo-data                                0.68+dfsg-6
golang-github-go-git-go-git-dev              5.4.2-3
grandorgue                                   3.9.5-1
kaffeine                                     2.0.18+git20230226.439cd0d-1
knavalbattle                                 4:22.12.3-1
lib32gphobos3-x32-cross                      12.2.0-13cross1
libadolc-dev                                 2.7.2-6
libgadu-doc                                  1:1.12.2-6
libgnat-12-sh4-cross                         12.2.0-13cross1
libharfbuzz-bin                              6.0.0+dfsg-3
libjcsp-java-doc                             1.1-rc4-2.1
liblog4cpp-doc                               1.0-3
libncarg0                                    6.6.2.dfsg.1-1
libpicard-java                               2.27.5+dfsg-2
libspring-core-java                          4.3.30-2
libxc-dev                                    5.2.3-1
lilypond-doc-html-es                         2.24.1-2
lilypond-doc-pdf-nl                          2.24.1-2
llvm-16-linker-tools                         1:16.0.6-15~deb12u1
obfs4proxy                                   0.0.14-1+b4
pipewire-doc                                 0.3.65-3+deb12u1
prometheus-haproxy-exporter                  0.14.0-1+b5
pyspread                                     2.1.1-2
python-keystoneclient-doc                    1:5.0.1-3
python3-morse-simulator                      1.4-8
qtvirtualkeyboard5-doc                       5.15.8+dfsg-2
r-bioc-isoformswitchanalyzer                 1.20.0+ds-1
r-cran-rlang                                 1.0.6-1
tesseract-ocr-kor                            1:4.1.0-2
tesseract-ocr-script-hang                    1:4.1.0-2
toppic                                       1.5.3+dfsg1-1
triplea                                      1.9.0.0.7062-2
akonadi-backend-sqlite                       4:22.12.3-1
apper                                        1.0.0-4
asterisk-core-sounds-en                      1.6.1-1
authprogs                                    0.7.5-1
biosquid                                     1.9g+cvs20050121-12
bochs-term                                   2.7+dfsg-4+deb12u1
bogofilter-sqlite                            1.2.5-1+b2
chiark-backup                                7.0.0
dict-freedict-oci-cat                        2022.04.21-1
distcc-pump                                  3.4+really3.4-3
dosbox-debug                                 0.74-3-4+b1
dwgsim                                       0.1.14-2
elpa-org-roam                                2.2.2-1
emms                                         5.1-1+b1
fcitx5                                       5.0.21-3
fonts-sil-lateef                             2.000-1
fte                                          0.50.2b6-20110708-5
gambas3-gb-clipper                           3.18.0-4
gcc-12-m68k-linux-gnu-base                   12.2.0-13cross1
gdbm-l10n                                    1.23-3
gitso                                        0.6.2+svn158+dfsg-4
gjs-tests                                    1.74.2-1+deb12u1
golang-github-docker-spdystream-dev          0.2.0-1
golang-github-masterminds-semver-dev         3.2.0-1
golang-github-russellhaering-goxmldsig-dev   1.2.0-1
golang-gopkg-redis.v2-dev                    2.3.2-2
golang-gopkg-src-d-go-billy.v4-dev           4.3.2-1
gromacs                                      2022.5-2
gstreamer1.0-crystalizer-pulseeffects        4.8.7-1
gvfs-backends                                1.50.3-1+deb12u1
hunspell-es                                  1:7.5.0-1
ibus-table-jyutping                          1.8.12-1
idlestat                                     0.8-6
kinfocenter                                  4:5.27.5-2
ldap2dns                                     0.3.1-5
libadolc2                                    2.7.2-6
libarchive-tar-wrapper-perl                  0.38-3
libasl0                                      0.1.7-4
libauthen-sasl-cyrus-perl                    0.13-server-13+b1
libbcel-java-doc                             6.5.0-2
libboost-graph1.81-dev                       1.81.0-5+deb12u1
libcommons-httpclient-java                   3.1-16
libconfig-any-perl                           0.32-3
libdbd-sybase-perl                           1.14-1+b10
libdbus-glib-1-2                             0.112-3
libdd-opentracing0                           1.3.6-1
libdecaf-doc                                 1.0.2-2
libdtools-ocaml-dev                          0.4.4-1+b2
libfilter-perl                               1.64-1+b1
libfont-freetype-perl                        0.16-2
libfrei0r-ocaml-dev                          0.1.2-1+b1
libfsntfs-utils                              20200921-2+b2
libgfortran-11-dev-ppc64el-cross             11.3.0-11cross1
libghc-base64-bytestring-dev                 1.2.1.0-1+b1
libghc-colour-dev                            2.3.6-1+b3
libghc-exact-pi-doc                          0.5.0.2-1
libghc-getopt-generics-prof                  0.13.0.4-2+b3
libghc-gtk-sni-tray-doc                      0.1.8.1-1
libghc-knob-dev                              0.2-1+b2
libghc-language-c99-util-doc                 0.2.0-1
libghc-multiset-comb-doc                     0.2.4.1-6
libghc-network-byte-order-prof               0.1.6-1+b1
libghc-stm-delay-dev                         0.1.1.1-3+b2
libghc-syb-with-class-prof                   0.6.1.14-1+b2
libghc-token-bucket-dev                      0.1.0.1-12+b1
libglibd-2.0-0                               2.3.0-3
libgraphics-tiff-perl                        19-1+b2
libhdf5-openmpi-hl-100                       1.10.8+repack1-1
libicns-dev                                  0.8.1-3.1
libignition-physics5-bullet-plugin5          5.1.0+ds1-4.1
libixml10                                    1:1.8.4-2
libjs-underscore.string                      3.3.6+dfsg-1
libjsonrpc-glib-1.0-1                        3.42.0-1
libmate-menu2                                1.26.0-3
libmath-prime-util-perl                      0.73-2+b2
libmialm-doc                                 1.0.9-3
libmongo-client-doc                          0.1.8-4
libmono-i18n4.0-cil                          6.8.0.105+dfsg-3.3+deb12u1
libmono-system-reactive-experimental2.2-cil  6.8.0.105+dfsg-3.3+deb12u1
libmoox-options-perl                         4.103-4
libmujoco-dev                                2.2.2-3
libnekohtml-java                             1.9.22.noko2-0.1
libnet-cidr-set-perl                         0.13-4
libnuspell-dev                               5.1.2-1+b1
libopencv406-jni                             4.6.0+dfsg-12
liborc-0.4-dev                               1:0.4.33-2
libportlet-api-2.0-spec-java                 1.0-3
librec-dev                                   1.9-2
librtf-writer-perl                           1.11-5
librust-nom-locate-dev                       4.1.0-2
libsoxr0                                     0.1.3-4
libtclcl1-dev                                1.20-10
libtrilinos-amesos-13.2                      13.2.0-4
libtrilinos-triutils-13.2                    13.2.0-4
libuser1                                     1:0.64~dfsg-1
libvisp-imgproc3.5                           3.5.0-4
libvisp-mbt3.5                               3.5.0-4
libwayland-server0                           1.21.0-1
libwx-perl-processstream-perl                0.32-1.1
lirc-x                                       0.10.1-7.2
lua-argparse                                 0.7.1-2
lxqt-system-theme                            1.2.0-1
minisapserver                                0.3.6-1.2
musl-dev                                     1.2.3-1
mythes-sk                                    1:7.5.0-1
paleomix                                     1.3.7-3
pd-scaf                                      1:0.14.1+darcs20180201-6
pdb2pqr-doc                                  3.5.2+dfsg-3
photocollage                                 1.4.5-0.1
php-horde-mime-viewer                        2.2.4+debian0-2
pppoe                                        3.15-2
purity                                       1-20
python-odf-tools                             1.4.2-2
python-os-xenapi-doc                         0.3.4-4
python-validate-pyproject-doc                0.12.2-1
python3-apertium-core                        3.8.3-1+b2
python3-barectf                              3.1.1-1
python3-django-treebeard                     4.6.1-1
python3-empy                                 3.3.4-2
python3-fhs-doc                              1.2-1
python3-hug-doc                              2.6.0-2.4
python3-line-profiler                        4.0.2-1
python3-redis                                4.3.4-3
r-cran-poissonbinomial                       1.2.5-1
ruby-ae                                      1.8.2-2
ruby-citrus                                  3.0.2-2
ruby-nio4r                                   2.5.8-3
ruby-posix-spawn                             0.3.13-3+b5
ruby-rails-assets-perfect-scrollbar          1.5.5-2
simple-revision-control                      1.29-1
sqwebmail-de                                 6.0.0-1
sssd-proxy                                   2.8.2-4+deb12u1
sssd-tools                                   2.8.2-4+deb12u1
substance-doc                                7.3+dfsg3-5.1
substance-swingx                             7.3+dfsg3-5.1
swi-prolog-odbc                              9.0.4+dfsg-2
tk707                                        0.8-2
tryton-modules-currency                      6.0.4-2
w-scan                                       20170107-2.1
windows-el                                   2.55-1
wmifs                                        1.9-2+b1
wp2x                                         2.5-mhi-14
xarchiver                                    1:0.5.4.20-2
xbomb                                        2.2b-1+b1
xen-tools                                    4.9.2-1
xfce4-netload-plugin                         1.4.0-1
xmbmon                                       2.05-8+b1
xserver-xorg                                 1:7.7+23
xterm                                        379-1
yabasic                                      1:2.90.3-1
PINS_EOF
)

# ---------------------------------------------------------------------------
log() { printf '[corpus %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '\nERROR: %s\n\n' "$*" >&2; exit 1; }
mb()  { awk -v b="$1" 'BEGIN{printf "%.1f MB", b/1e6}'; }

need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "'$1' is missing; install the Debian package '$2' (needs root)"
  log "installing $2 (for $1)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }
  command -v "$1" >/dev/null 2>&1 || die "could not install $2"
}

pins() { printf '%s\n' "$PINS" | sed -e 's/#.*//' | awk 'NF'; }

STAMP=$( { echo "layout=$LAYOUT_VERSION $OLD_DATE $NEW_DATE $OLD_LABEL $NEW_LABEL"; pins; } | sha256sum | cut -d' ' -f1)

summary() {
  local o="$CORPUS/manifest-old.tsv" n="$CORPUS/manifest-new.tsv" f
  echo
  echo "Tessera corpus: $CORPUS"
  for f in old new; do
    printf '  %s.iso  %s (%s bytes)  sha256 %s\n' "$f" "$(mb "$(stat -c %s "$CORPUS/$f.iso")")" \
      "$(stat -c %s "$CORPUS/$f.iso")" "$(cut -d' ' -f1 "$CORPUS/$f.iso.sha256" 2>/dev/null || echo '?')"
  done
  awk -F'\t' '
    FNR==NR { ov[$1]=$2; os[$1]=$4; ot+=$4; next }
    { n++; nt+=$4; if (ov[$1] != $2) { c++; oc+=os[$1]; nc+=$4 } }
    END {
      printf "  packages: %d (old .debs %.1f MB, new .debs %.1f MB)\n", n, ot/1e6, nt/1e6
      printf "  changed:  %d packages\n", c
      printf "  .deb bytes changed: %.1f MB of old (%.1f %%) replaced by %.1f MB in new (%.1f %% of new)\n", oc/1e6, 100*oc/ot, nc/1e6, 100*nc/nt
    }' "$o" "$n"
  echo "  debs-old/    $(find "$CORPUS/debs-old" -name '*.deb' | wc -l) files"
  echo "  debs-new/    $(find "$CORPUS/debs-new" -name '*.deb' | wc -l) files (unchanged ones are hard links to debs-old)"
  echo "  seeds-loose/ $(find "$CORPUS/seeds-loose" -name '*.deb' | wc -l) files (hard links to the debs-old files = the old .debs)"
}

mkdir -p "$CORPUS"
CORPUS=$(cd "$CORPUS" && pwd)
exec 9>"$CORPUS/.lock"
flock -n 9 || die "another debian-corpus.sh is running on $CORPUS"

if [ "$FORCE" = 0 ] && [ -f "$CORPUS/.stamp" ] && [ "$(cat "$CORPUS/.stamp")" = "$STAMP" ] \
   && [ -s "$CORPUS/old.iso" ] && [ -s "$CORPUS/new.iso" ] && [ -d "$CORPUS/seeds-loose" ] \
   && [ -s "$CORPUS/manifest-old.tsv" ] && [ -s "$CORPUS/manifest-new.tsv" ]; then
  log "corpus is up to date (stamp ${STAMP:0:12}); nothing to do"
  summary
  exit 0
fi
rm -f "$CORPUS/.stamp"

need apt-get apt
need dpkg-deb dpkg
need xorriso xorriso
need sha256sum coreutils
need gzip gzip
need flock util-linux

avail_kb=$(df -Pk "$CORPUS" | awk 'NR==2{print $4}')
[ "$avail_kb" -gt $((3 * 1024 * 1024)) ] || log "WARNING: only $((avail_kb / 1024)) MB free under $CORPUS; about 2.3 GB are needed"

WORK=$(mktemp -d "$CORPUS/.work.XXXXXX")
trap 'rm -rf "$WORK" "$CORPUS"/.tree-*' EXIT

# --- 1. apt index --------------------------------------------------------------
UPDATED=0
first_pkg=$(pins | awk 'NR==1{print $1}')
policy=$(apt-cache policy "$first_pkg" 2>/dev/null || true)
if ! grep -q 'Candidate: [^(]' <<<"$policy"; then
  log "apt index has no '$first_pkg'; running apt-get update"
  apt-get update -qq || die "apt-get update failed"
  UPDATED=1
fi

# --- 2. resolve pins to URIs / file names / hashes ------------------------------
specs_for() { # old|new -> NAME=VERSION lines
  pins | awk -v set="$1" '{ v=$2; if (set=="new" && NF>=3) v=$3; print $1 "=" v }'
}

resolve() { # old|new -> $CORPUS/manifest-SET.tsv
  local set=$1 d="$WORK/resolve-$1" line url lfile size sha key path name ver
  local -A byprefix=()
  local -a specs=()
  mkdir -p "$d"   # must be empty: --print-uris leaves out files already present in the cwd
  mapfile -t specs < <(specs_for "$set")
  if ! (cd "$d" && apt-get download --print-uris "${specs[@]}" >uris 2>err); then
    if [ "$UPDATED" = 0 ]; then
      log "some pinned versions are not in the apt index; running apt-get update and retrying"
      apt-get update -qq || die "apt-get update failed"
      UPDATED=1
    fi
    if ! (cd "$d" && apt-get download --print-uris "${specs[@]}" >uris 2>err); then
      {
        echo
        echo "ERROR: pinned package versions for the '$set' set can no longer be downloaded"
        echo "from the configured apt sources (Debian removes superseded versions from the mirrors):"
        grep '^E:' "$d/err" | sed 's/^/    /'
        echo
        echo "The corpus is pinned on purpose so that results are comparable between machines."
        echo "Fix: add Debian's snapshot archive for those dates to the apt sources (the pins come"
        echo "from the bookworm index of 2026-07-11 and the bookworm-security index of 2026-11-20),"
        echo "or re-pin the PINS list in $0 (NAME OLDVERSION [NEWVERSION])."
      } >&2
      exit 1
    fi
  fi
  while read -r url lfile size sha; do
    url=${url#\'}; url=${url%\'}
    byprefix["${lfile%_*}"]="$url"$'\t'"$lfile"$'\t'"$size"$'\t'"${sha#SHA256:}"
  done < "$d/uris"
  : > "$WORK/manifest-$set.tsv"
  while IFS='=' read -r name ver; do
    key="${name}_${ver//:/%3a}"
    line=${byprefix[$key]:-}
    [ -n "$line" ] || die "apt did not report a download for $name=$ver (looked for ${key}_*.deb)"
    IFS=$'\t' read -r url lfile size sha <<<"$line"
    path=${url#*/pool/}; path=${path#updates/}
    path=$(printf '%b' "pool/${path//%/\\x}")     # URL-decode (e.g. %2b -> +)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ver" "$lfile" "$size" "$sha" "$path" >> "$WORK/manifest-$set.tsv"
  done < <(specs_for "$set")
}

log "resolving $(pins | wc -l) pinned packages"
resolve old
resolve new

# --- 3. download ------------------------------------------------------------------
have_file() { # FILE SIZE SHA256
  [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$3" ]
}

apt_dl() { # DIR SPEC...  (quiet apt-get download into DIR)
  local d=$1; shift
  if ! (cd "$d" && apt-get download -qq "$@" 2>"$WORK/dl.err"); then
    grep -v 'unsandboxed' "$WORK/dl.err" >&2 || true
    die "apt-get download failed for: $*"
  fi
}

SPEED_DONE=0
fetch() { # old|new
  local set=$1 dir="$CORPUS/debs-$1" d="$WORK/dl-$1" name ver lfile size sha path
  local -a miss=()
  local missbytes=0
  mkdir -p "$dir" "$d"
  # drop files that are not part of this set
  local -A keep=()
  while IFS=$'\t' read -r name ver lfile size sha path; do keep["$lfile"]=1; done < "$WORK/manifest-$set.tsv"
  for f in "$dir"/*; do
    [ -e "$f" ] || continue
    [ -n "${keep[$(basename "$f")]:-}" ] || { log "removing stray $(basename "$f") from debs-$set"; rm -f "$f"; }
  done
  log "checking cached debs-$set"
  while IFS=$'\t' read -r name ver lfile size sha path; do
    have_file "$dir/$lfile" "$size" "$sha" && continue
    rm -f "$dir/$lfile"
    if [ "$set" = new ] && have_file "$CORPUS/debs-old/$lfile" "$size" "$sha"; then
      ln "$CORPUS/debs-old/$lfile" "$dir/$lfile" 2>/dev/null || cp "$CORPUS/debs-old/$lfile" "$dir/$lfile"
      continue
    fi
    miss+=("$size $name=$ver $lfile $sha")
    missbytes=$((missbytes + size))
  done < "$WORK/manifest-$set.tsv"
  [ "${#miss[@]}" -gt 0 ] || { log "debs-$set complete"; return 0; }
  mapfile -t miss < <(printf '%s\n' "${miss[@]}" | sort -rn)
  log "debs-$set: downloading ${#miss[@]} packages, $(mb "$missbytes")"
  local i=0 t0 t1 batch=() line spec f
  if [ "$SPEED_DONE" = 0 ]; then
    # measure mirror speed with the biggest missing package first
    read -r size spec lfile sha <<<"${miss[0]}"
    t0=$EPOCHREALTIME
    apt_dl "$d" "$spec"
    t1=$EPOCHREALTIME
    awk -v b="$size" -v a="$t0" -v c="$t1" -v s="$spec" -v r="$missbytes" 'BEGIN{
      t=c-a; if (t<0.001) t=0.001
      printf "[corpus] mirror speed: %s (%.1f MB) in %.2f s = %.1f MB/s; estimated %.0f s for the rest of this set\n", s, b/1e6, t, b/1e6/t, (r-b)/(b/t) }' >&2
    SPEED_DONE=1
    i=1
  fi
  t0=$EPOCHREALTIME
  while [ "$i" -lt "${#miss[@]}" ]; do
    batch=()
    while [ "$i" -lt "${#miss[@]}" ] && [ "${#batch[@]}" -lt 40 ]; do
      read -r size spec lfile sha <<<"${miss[$i]}"; batch+=("$spec"); i=$((i + 1))
    done
    apt_dl "$d" "${batch[@]}"
    log "  $i/${#miss[@]}"
  done
  t1=$EPOCHREALTIME
  for line in "${miss[@]}"; do
    read -r size spec lfile sha <<<"$line"
    have_file "$d/$lfile" "$size" "$sha" || die "downloaded $lfile does not match the apt index (size/sha256)"
    mv "$d/$lfile" "$dir/$lfile"
  done
  log "debs-$set: done ($(awk -v a="$t0" -v c="$t1" 'BEGIN{printf "%.1f", c-a}') s for the batched part)"
}

fetch old
fetch new
cp "$WORK/manifest-old.tsv" "$CORPUS/manifest-old.tsv"
cp "$WORK/manifest-new.tsv" "$CORPUS/manifest-new.tsv"

# --- 4. images ------------------------------------------------------------------
build_iso() { # old|new LABEL DATE EPOCH
  local set=$1 label=$2 date=$3 epoch=$4
  local dir="$CORPUS/debs-$set" tree="$CORPUS/.tree-$set" man="$CORPUS/manifest-$set.tsv"
  local name ver lfile size sha path n
  log "building $set.iso"
  rm -rf "$tree"; mkdir -p "$tree"
  while IFS=$'\t' read -r name ver lfile size sha path; do
    mkdir -p "$tree/${path%/*}"
    ln "$dir/$lfile" "$tree/$path" 2>/dev/null || cp "$dir/$lfile" "$tree/$path"
  done < "$man"
  n=$(wc -l < "$man")
  mkdir -p "$tree/.disk" "$tree/dists/bookworm/main/binary-amd64"
  echo "Debian GNU/Linux 12 \"Bookworm\" - Tessera benchmark $set amd64 (${date:0:8})" > "$tree/.disk/info"
  cat > "$tree/README.txt" <<README
Debian GNU/Linux 12 "Bookworm" - amd64 - Tessera benchmark image ($set)
=====================================================================

This is NOT an official Debian image. It imitates the layout of a Debian
package image (pool/, dists/, md5sum.txt) and is used to benchmark
Tessera against zsync when updating an image from an older one.

  Image:     $set ($label)
  Date:      ${date:0:4}-${date:4:2}-${date:6:2}
  Packages:  $n real Debian packages (amd64/all)
  Suites:    $( [ "$set" = old ] && echo "bookworm (main suite versions)" || echo "bookworm + bookworm-security (newer versions where available)")

Changed packages compared with the other image:
$(awk -F'\t' 'FNR==NR{o[$1]=$2; next} o[$1]!=$2{printf "  %-28s %s -> %s\n", $1, o[$1], $2}' "$CORPUS/manifest-old.tsv" "$CORPUS/manifest-new.tsv")
README
  while IFS=$'\t' read -r name ver lfile size sha path; do
    dpkg-deb -f "$dir/$lfile"
    printf 'Filename: %s\nSize: %s\nSHA256: %s\n\n' "$path" "$size" "$sha"
  done < "$man" | gzip -9n > "$tree/dists/bookworm/main/binary-amd64/Packages.gz"
  (cd "$tree" && find . -type f ! -name md5sum.txt -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' md5sum) > "$WORK/md5sum.txt"
  mv "$WORK/md5sum.txt" "$tree/md5sum.txt"
  rm -f "$CORPUS/$set.iso.tmp"
  if ! TZ=UTC SOURCE_DATE_EPOCH=$epoch xorriso -as mkisofs -r -J -joliet-long -V "$label" \
        --set_all_file_dates "$date" -o "$CORPUS/$set.iso.tmp" "$tree" > "$WORK/xorriso.log" 2>&1; then
    tail -20 "$WORK/xorriso.log" >&2
    die "xorriso failed for $set.iso"
  fi
  mv "$CORPUS/$set.iso.tmp" "$CORPUS/$set.iso"
  (cd "$CORPUS" && sha256sum "$set.iso" > "$set.iso.sha256")
  rm -rf "$tree"
  local sz; sz=$(stat -c %s "$CORPUS/$set.iso")
  [ "$sz" -ge 500000000 ] || die "$set.iso is only $sz bytes (expected >= 500 MB)"
}

build_iso old "$OLD_LABEL" "$OLD_DATE" "$OLD_EPOCH"
build_iso new "$NEW_LABEL" "$NEW_DATE" "$NEW_EPOCH"

# --- 5. loose seeds ---------------------------------------------------------------
rm -rf "$CORPUS/seeds-loose"
mkdir -p "$CORPUS/seeds-loose"
ln "$CORPUS"/debs-old/*.deb "$CORPUS/seeds-loose/" 2>/dev/null || cp "$CORPUS"/debs-old/*.deb "$CORPUS/seeds-loose/"

echo "$STAMP" > "$CORPUS/.stamp"
log "corpus built"
summary

#!/usr/bin/env bash
# How datasets/hubbard/v3/pseudo/ was made (not needed to run anything: the files are committed).
# Fetches Debian trixie's quantum-espresso-data-sssp 1.3.0-3 by name through a private apt setup (the
# system's sources and state stay untouched; the package is never installed: it conflicts with
# bookworm's quantum-espresso-data), unpacks it and checks the files against pseudo/MD5SUMS.
#   scripts/hubbard_v3_pseudos.sh [work dir]      # then compare, or copy more elements by hand
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
  > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1)
apt-get "${apt_opts[@]}" update -qq
(cd "$work/deb" && apt-get "${apt_opts[@]}" download quantum-espresso-data-sssp=1.3.0-3)
dpkg-deb -x "$work"/deb/quantum-espresso-data-sssp_1.3.0-3_all.deb "$work/x"
(cd "$work/x/usr/share/espresso/pseudo" && md5sum -c "$root/datasets/hubbard/v3/pseudo/MD5SUMS")
echo "unpacked in $work/x/usr/share/espresso/pseudo; licences in $work/x/usr/share/doc/quantum-espresso-data-sssp"

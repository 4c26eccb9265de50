#!/usr/bin/env bash
# Proves the Dockerfile on a machine with no Docker engine and no image
# registry: podman builds it, offline, from base images made here, then runs
# the image read-only, sends a report to it on 127.0.0.1 and reads the case
# back with the case code.
#
# The base images the Dockerfile names are stand-ins made locally under the
# same names: one Debian bookworm (debootstrap) with gcc, this machine's own
# Go toolchain and Node.js, tagged as both golang and node; and a rootfs of
# glibc, CA certificates and a nonroot user (65532), with no shell, tagged
# as distroless/base. The Dockerfile itself is built unchanged.
#
# State that makes a second run fast is kept in $CANDOUR_CI_CACHE (default
# /var/cache/candour-ci): the debootstrap rootfs, podman's storage with the
# base images, and the npm cache. Go's and npm's build caches (RUN
# --mount=type=cache) stay in buildah's own cache folder. Delete the folder
# to start over.
set -euo pipefail

cd "$(dirname "$0")/../.."
CACHE=${CANDOUR_CI_CACHE:-/var/cache/candour-ci}
# Bumped whenever the way the base images are made changes, so that a
# machine keeping old ones makes them again.
RECIPE=1
IMAGE=localhost/candour:test
VOLUME=candour-test-data
CONTAINER=candour-test

[[ $EUID == 0 ]] || { echo "tests/container/run.sh needs root (podman, debootstrap)" >&2; exit 1; }

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# Debian's podman, buildah and runc; debootstrap to make a base system.
missing=()
for tool in podman:podman buildah:buildah /usr/sbin/runc:runc debootstrap:debootstrap; do
	command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
	say "installing ${missing[*]}"
	timeout 300 apt-get update -qq
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# One run at a time per machine: runs share the base images and the
# names below, and a second one would only wait for the same CPUs.
mkdir -p "$CACHE"
exec 9>"$CACHE/lock"
flock -w 1800 9 || fail "another container test has held $CACHE/lock for 30 minutes"

# A store of our own: vfs needs no kernel overlay support, and nothing here
# mixes with other podman users of the machine. Without systemd, cgroups
# are managed through cgroupfs and events go to a file.
PODMAN=(podman --root "$CACHE/storage" --runroot /run/candour-ci --storage-driver vfs
	--runtime /usr/sbin/runc --cgroup-manager cgroupfs --events-backend file)
pm() { "${PODMAN[@]}" "$@"; }
# podman's default ulimits are above this machine's hard limits, and runc,
# lacking CAP_SYS_RESOURCE here, cannot raise them.
ULIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

# The base images, read from the Dockerfile so the two cannot drift apart.
from() { sed -n "s|^FROM \\($1[^ ]*\\).*|\\1|p" Dockerfile; }
GO_IMAGE=$(from 'docker.io/library/golang:')
NODE_IMAGE=$(from 'docker.io/library/node:')
RUNTIME_IMAGE=$(from 'gcr.io/distroless/')
[[ -n $GO_IMAGE && -n $NODE_IMAGE && -n $RUNTIME_IMAGE ]] || fail "Dockerfile: expected golang, node and distroless base images"
GOVERSION=$(go env GOVERSION)
[[ ${GO_IMAGE##*:} == "${GOVERSION#go}"-* ]] ||
	fail "the Dockerfile builds with $GO_IMAGE but this machine's Go, which stands in for it, is $GOVERSION"

have_image() {
	[[ $(pm image inspect --format '{{index .Labels "candour-ci-recipe"}}' "$1" 2>/dev/null) == "$RECIPE" ]]
}

# debootstrap from the mirror this machine's apt uses (the only one we may
# reach), kept between runs: it is the slow part of a first run.
apt_mirror() {
	local m
	m=$(sed -E 's/\[[^]]*\]//' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }')
	[[ -n $m ]] || m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ { uri = $2 } /^Suites:/ && / bookworm( |$)/ { print uri; exit }')
	echo "${m:-http://deb.debian.org/debian}"
}
ROOTFS=$CACHE/rootfs-bookworm
make_rootfs() {
	[[ -f $ROOTFS/.complete ]] && return
	local tmp=$ROOTFS.tmp mirror
	mirror=$(apt_mirror)
	say "debootstrap bookworm from $mirror (once per machine, a few minutes)"
	# A run killed half-way leaves /proc mounted in the unfinished tree.
	umount -R "$tmp/proc" "$tmp/sys" 2>/dev/null || true
	rm -rf "$tmp" "$ROOTFS"
	timeout 900 debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates \
		bookworm "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -20 "$CACHE/debootstrap.log"; umount -R "$tmp/proc" "$tmp/sys" 2>/dev/null || true; fail "debootstrap"; }
	# Smaller is faster: vfs copies the whole tree for every layer.
	rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* \
		"$tmp"/usr/share/{doc,man,info,locale}
	touch "$tmp/.complete"
	mv "$tmp" "$ROOTFS"
}

# Build tools: Debian bookworm with gcc, this machine's Go in /usr/local/go
# (as in the golang image) and its Node.js with npm in /usr/local (as in
# the node image).
make_tools_image() {
	have_image "$GO_IMAGE" && have_image "$NODE_IMAGE" && return
	make_rootfs
	say "making $GO_IMAGE and $NODE_IMAGE from the rootfs, $GOVERSION and node $(node --version)"
	local stage node npm
	stage=$(mktemp -d "$CACHE/stage.XXXXXX")
	cp -a "$ROOTFS/." "$stage/"
	rm "$stage/.complete"
	cp -a "$(go env GOROOT)" "$stage/usr/local/go"
	node=$(readlink -f "$(command -v node)")
	npm=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
	[[ -f $npm/package.json && -d $npm/node_modules ]] || fail "npm at $npm is not self-contained; install Node.js 20 with its own npm"
	mkdir -p "$stage/usr/local/lib/node_modules"
	cp "$node" "$stage/usr/local/bin/node"
	cp -a "$npm" "$stage/usr/local/lib/node_modules/npm"
	ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
	ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
	tar -C "$stage" -c . | pm import -q \
		--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV GOPATH=/go' --change 'ENV GOTOOLCHAIN=local' \
		--change "LABEL candour-ci-recipe=$RECIPE" \
		--change 'CMD ["bash"]' - "$GO_IMAGE" >/dev/null
	pm tag "$GO_IMAGE" "$NODE_IMAGE"
	rm -rf "$stage"
}

# The runtime: what distroless/base-debian12 holds that Candour may use
# (glibc, CA certificates, passwd with nonroot, /tmp), and no shell.
make_runtime_image() {
	have_image "$RUNTIME_IMAGE" && return
	make_rootfs
	say "making $RUNTIME_IMAGE"
	local stage
	stage=$(mktemp -d "$CACHE/stage.XXXXXX")
	mkdir -p "$stage"/{etc/ssl/certs,tmp,home/nonroot,usr/lib,usr/lib64}
	# Bookworm is merged-/usr: /lib is a link to usr/lib, as in the rootfs.
	ln -s usr/lib "$stage/lib"
	ln -s usr/lib64 "$stage/lib64"
	(cd "$ROOTFS" && while read -r f; do
		# Directories come with their files; the docs were dropped above.
		[[ (-d .$f && ! -L .$f) || ! (-e .$f || -L .$f) ]] || cp -a --parents ".$f" "$stage"
	done <var/lib/dpkg/info/libc6:amd64.list)
	cp "$ROOTFS/etc/ssl/certs/ca-certificates.crt" "$stage/etc/ssl/certs/"
	cp "$ROOTFS/etc/os-release" "$stage/etc/os-release" 2>/dev/null || cp "$ROOTFS/usr/lib/os-release" "$stage/etc/os-release"
	printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
		'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$stage/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$stage/etc/group"
	echo 'hosts: files dns' >"$stage/etc/nsswitch.conf"
	chmod 1777 "$stage/tmp"
	chown 65532:65532 "$stage/home/nonroot"
	[[ ! -e $stage/bin/sh && ! -e $stage/usr/bin/sh ]] || fail "the runtime stand-in has a shell"
	tar -C "$stage" -c . | pm import -q \
		--change 'USER 65532' --change 'WORKDIR /home/nonroot' \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
		--change "LABEL candour-ci-recipe=$RECIPE" - "$RUNTIME_IMAGE" >/dev/null
	rm -rf "$stage"
}

rm -rf "$CACHE"/stage.*
make_tools_image
make_runtime_image

# Offline caches for the build, mounted into it (podman build -v) rather
# than copied into the context: the Go module cache of this machine, served
# as a GOPROXY from files; and an npm cache holding package-lock.json's
# packages, filled from the registry here if it lacks any.
say "preparing the offline caches"
go mod download
GOPROXY_DIR=$(go env GOMODCACHE)/cache/download
NPM_CACHE=$CACHE/npm
scratch=$(mktemp -d)
cleanup() {
	pm rm -f -t 5 "$CONTAINER" >/dev/null 2>&1 || true
	pm volume rm -f "$VOLUME" >/dev/null 2>&1 || true
	pm rmi -f "$IMAGE" >/dev/null 2>&1 || true
	# An image left untagged by a run that was killed before this point.
	pm image prune -f >/dev/null 2>&1 || true
	rm -rf "$scratch"
}
trap cleanup EXIT
cp package.json package-lock.json "$scratch/"
(cd "$scratch" && timeout 300 npm ci --prefer-offline --ignore-scripts --no-audit --no-fund \
	--cache "$NPM_CACHE" >/dev/null)

say "building $IMAGE with podman, network off"
build_start=$SECONDS
# --layers=false: with vfs every committed layer is a full copy of the
# tree, and a layer cache would grow with every source change; the
# compiler's and npm's caches live in the cache mounts, which persist.
# --format docker keeps HEALTHCHECK, which the OCI image format lacks.
timeout 900 "${PODMAN[@]}" build --network=none --pull=never --layers=false --format docker \
	-v "$GOPROXY_DIR:/goproxy:ro" -v "$NPM_CACHE:/npm-cache" \
	--build-arg GOPROXY=file:///goproxy \
	--build-arg NPM_CONFIG_CACHE=/npm-cache --build-arg NPM_CONFIG_OFFLINE=true \
	-t "$IMAGE" . || fail "podman build"
echo "built in $((SECONDS - build_start)) s"

say "checking the image"
user=$(pm image inspect --format '{{.Config.User}}' "$IMAGE")
[[ $user == 65532* || $user == nonroot* ]] || fail "image runs as '$user', want nonroot (65532)"
health=$(pm image inspect --format '{{.HealthCheck.Test}}' "$IMAGE" 2>/dev/null || true)
[[ $health == *"/candour healthcheck"* ]] || fail "image has no HEALTHCHECK running candour healthcheck: '$health'"
shell=$(pm run --rm "${ULIMITS[@]}" --entrypoint /bin/sh "$IMAGE" -c 'echo has a shell' 2>&1 || true)
[[ $shell == *"no such file or directory"* ]] || fail "/bin/sh in the image: $shell"

# A free port on 127.0.0.1.
for _ in $(seq 50); do
	PORT=$((20000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
BASE=http://127.0.0.1:$PORT

say "running $IMAGE read-only on $BASE"
# --read-only-tmpfs=false: like Docker's --read-only, no writable /tmp or
# /run is added, so a write outside /data fails here as it would there.
# Without systemd podman cannot time the health check (it says so on
# stderr), so it is run by hand below. Everything else is as the image
# sets it (demo mode, default KDF cost).
pm volume create "$VOLUME" >/dev/null
pm run -d --name "$CONTAINER" --read-only --read-only-tmpfs=false \
	--cap-drop ALL --security-opt no-new-privileges "${ULIMITS[@]}" \
	-p "127.0.0.1:$PORT:8080" -v "$VOLUME:/data" "$IMAGE" >/dev/null 2>"$scratch/run.err" ||
	{ cat "$scratch/run.err"; fail "podman run"; }

# Wait for the health endpoint for up to PATIENCE seconds (CI shares two
# cores between several jobs; only a container that never comes up waits
# this long).
PATIENCE=180
ok=
deadline=$((SECONDS + PATIENCE))
while ((SECONDS < deadline)); do
	if [[ $(curl -fsS --max-time 10 "$BASE/healthz" 2>/dev/null) == ok ]]; then
		ok=1
		break
	fi
	[[ $(pm inspect --format '{{.State.Running}}' "$CONTAINER") == true ]] || break
	sleep 0.5
done
[[ -n $ok ]] || { pm logs "$CONTAINER" | tail -30; fail "waited up to ${PATIENCE} s for ok from $BASE/healthz (or the container stopped)"; }
[[ $(pm logs "$CONTAINER" 2>&1) == *"DEMO MODE"* ]] || fail "expected demo mode out of the box"

pm healthcheck run "$CONTAINER" || fail "podman healthcheck run"
[[ $(pm inspect --format '{{.State.Healthcheck.Status}}' "$CONTAINER") == healthy ]] || fail "container not healthy"
[[ $(pm exec "$CONTAINER" /candour healthcheck --timeout "${PATIENCE}s") == ok ]] || fail "candour healthcheck inside the container"
[[ $(pm exec "$CONTAINER" /candour healthcheck --url http://127.0.0.1:8080/nope 2>/dev/null || echo refused) == refused ]] ||
	fail "candour healthcheck accepted a 404"
[[ $(pm top "$CONTAINER" user | tail -n +2 | sort -u) =~ ^(65532|nonroot)$ ]] || fail "the server does not run as nonroot"

say "sending a report and reading it back"
text="Container test report $RANDOM$RANDOM"
printf 'evidence line\n' >"$scratch/evidence.txt"
# A PDF with an author (statement.pdf, beside this script): cleaned in a
# child process of the server, under kernel limits (prlimit), which must
# work in the read-only image too.
cp "$(dirname "$0")/statement.pdf" "$scratch/statement.pdf"
receipt=$(curl -fsS --max-time "$PATIENCE" -F "body=$text" -F "attachments=@$scratch/evidence.txt;type=text/plain" \
	-F "attachments=@$scratch/statement.pdf;type=application/pdf" "$BASE/report") ||
	fail "POST /report"
grep -qF "document properties (author, software, dates)" <<<"$receipt" || {
	sed 's/<[^>]*>//g' <<<"$receipt" | grep -v '^\s*$' | tail -20
	pm logs "$CONTAINER" | tail -10
	fail "the receipt does not say the PDF's author was removed"
}
code=$(sed -n 's/.*id="case-code"[^>]*>\([^<]*\)<.*/\1/p;T;q' <<<"$receipt")
[[ -n $code ]] || fail "no case code on the receipt"
case_page=$(curl -fsS --max-time "$PATIENCE" -L -c "$scratch/jar" -b "$scratch/jar" --data-urlencode "code=$code" "$BASE/followup") ||
	fail "POST /followup"
grep -qF "$text" <<<"$case_page" || fail "the case page does not show the report"
grep -qF "evidence.txt" <<<"$case_page" || fail "the case page does not list the attachment"

# A new volume takes the image's /data: owned by the runtime user.
owner=$(pm volume inspect --format '{{.Mountpoint}}' "$VOLUME" | xargs stat -c %u)
[[ $owner == 65532 ]] || fail "the volume belongs to uid $owner, want 65532"

echo "container: 1 passed, 0 failed"

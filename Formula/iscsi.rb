# Homebrew formula for iscsi: installs the prebuilt executable for this OS and CPU and a service that runs
# `iscsi daemon` as root at boot. This file is the template: scripts/release.sh writes
# dist/release/iscsi.rb with the version, URLs and SHA-256 checksums of a release filled in (docs/macos-release.md).
class Iscsi < Formula
  desc "Native iSCSI initiator (RFC 7143): CLI, daemon and iscsiadm-compatible commands"
  homepage "https://github.com/@REPO@"
  version "@VERSION@"
  license "MIT"

  on_macos do
    on_arm do
      url "https://github.com/@REPO@/releases/download/v@VERSION@/iscsi-@VERSION@-darwin-arm64.tar.gz"
      sha256 "@SHA256_DARWIN_ARM64@"
    end
    on_intel do
      url "https://github.com/@REPO@/releases/download/v@VERSION@/iscsi-@VERSION@-darwin-x64.tar.gz"
      sha256 "@SHA256_DARWIN_X64@"
    end
  end

  on_linux do
    on_intel do
      url "https://github.com/@REPO@/releases/download/v@VERSION@/iscsi-@VERSION@-linux-x64.tar.gz"
      sha256 "@SHA256_LINUX_X64@"
    end
  end

  def install
    # One self-contained executable (Bun runtime, engine, daemon, CLI; the attach library is embedded in it).
    bin.install "iscsi"
    doc.install Dir["*.md"]
  end

  def caveats
    <<~EOS
      The daemon manages sessions and block devices, so it runs as root:
        sudo brew services start iscsi
      (or `sudo iscsi daemon` in the foreground). Its log is #{var}/log/iscsi.log.

      Attaching a LUN as a disk on macOS uses FUSE: install macFUSE (`brew install --cask macfuse`, then
      allow its system extension) or FUSE-T. Discovery, logins, `read`/`write` and `doctor` need neither.

      Check the setup and a target with:
        sudo iscsi doctor NAS-ADDRESS
    EOS
  end

  # Same program and restart policy as the launchd plist `iscsi service install` writes: restart after a
  # crash, not after a clean stop (SIGTERM logs every session out and exits 0).
  service do
    run [opt_bin/"iscsi", "daemon"]
    require_root true
    keep_alive successful_exit: false
    log_path var/"log/iscsi.log"
    error_log_path var/"log/iscsi.log"
  end

  test do
    assert_equal "iscsi #{version}", shell_output("#{bin}/iscsi --version").strip
    # Host checks with a private state dir and no daemon: warnings only, so exit 0.
    report = shell_output("#{bin}/iscsi doctor --json --state-dir #{testpath}/state --socket #{testpath}/iscsid.sock")
    assert_match "\"host.daemon\"", report
    # A portal nobody listens on: a clear "unreachable" finding and the transport exit code (4).
    probe = shell_output("#{bin}/iscsi doctor 127.0.0.1:1 --state-dir #{testpath}/state --socket #{testpath}/iscsid.sock", 4)
    assert_match "unreachable", probe
  end
end

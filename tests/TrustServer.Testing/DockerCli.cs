namespace TrustServer.Testing;

/// <summary>
/// The real Docker CLI with a private <c>DOCKER_CONFIG</c> (credentials, trust keys, <c>tls/</c>) and no engine: the
/// engine address points at a socket that does not exist, so only client-side commands work (<c>docker login</c>
/// falls back to logging in client-side, <c>docker trust</c> talks to the trust server itself).
/// </summary>
public sealed class DockerCli : IDisposable
{
    /// <summary>The Debian package that ships the CLI.</summary>
    public const string DebianPackage = "docker.io";

    // The first docker (PATH, then Debian's /usr/bin/docker) that has `docker trust`: CLI 29 moved it into a plugin.
    private static readonly Lazy<string> Executable = new(() =>
        new[] { ExecutableLocator.Find("docker"), "/usr/bin/docker" }.OfType<string>().Distinct()
            .FirstOrDefault(path => ExecutableLocator.IsExecutable(path)
                && ProcessRunner.RunAsync(path, ["trust", "--help"], TimeSpan.FromSeconds(30)).GetAwaiter().GetResult().Succeeded)
        ?? throw new InvalidOperationException(
            $"No Docker CLI with 'docker trust' is installed. Install the Debian package '{DebianPackage}': `apt-get install -y {DebianPackage}` — scripts/test.sh does this."));

    private readonly TemporaryDirectory _directory = new("docker-cli");

    /// <summary>Prepares a CLI whose trust server is <paramref name="trustServerUrl"/> (<c>DOCKER_CONTENT_TRUST_SERVER</c>).</summary>
    public DockerCli(string trustServerUrl, string passphrase)
    {
        ExecutablePath = Executable.Value;
        ConfigDirectory = _directory.Combine("config");
        Directory.CreateDirectory(ConfigDirectory);
        Directory.CreateDirectory(_directory.Combine("home"));
        Environment["DOCKER_CONFIG"] = ConfigDirectory;
        Environment["HOME"] = _directory.Combine("home");
        Environment["DOCKER_HOST"] = "unix://" + _directory.Combine("no-engine.sock");
        Environment["DOCKER_CONTENT_TRUST_SERVER"] = trustServerUrl;
        Environment["DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"] = passphrase;
        Environment["DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"] = passphrase;
        Environment["DOCKER_CLI_HINTS"] = "false";
    }

    /// <summary>The docker executable.</summary>
    public string ExecutablePath { get; }

    /// <summary><c>DOCKER_CONFIG</c>: <c>config.json</c>, <c>trust/</c> (keys and TUF cache), <c>tls/&lt;host:port&gt;/</c>.</summary>
    public string ConfigDirectory { get; }

    /// <summary>docker's trust directory (notary's <c>trust_dir</c> layout).</summary>
    public string TrustDirectory => Path.Combine(ConfigDirectory, "trust");

    /// <summary>A scratch directory of this CLI (e.g. for <c>docker trust key generate --dir</c>).</summary>
    public string ScratchDirectory => _directory.Path;

    /// <summary>Environment of every run (on top of this process's); a null value removes a variable.</summary>
    public IDictionary<string, string?> Environment { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>
    /// Places <paramref name="caCertificatePem"/> where docker trust reads the trust server's CAs:
    /// <c>$DOCKER_CONFIG/tls/&lt;host:port of DOCKER_CONTENT_TRUST_SERVER&gt;/ca.crt</c> (cli/trust/trust.go).
    /// </summary>
    public void TrustServerCa(string hostAndPort, string caCertificatePem)
    {
        var directory = Path.Combine(ConfigDirectory, "tls", hostAndPort);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "ca.crt"), caCertificatePem);
    }

    /// <summary>Runs <c>docker &lt;arguments&gt;</c> with a 120 s limit; never throws for a non-zero exit.</summary>
    public Task<ProcessResult> RunAsync(IReadOnlyList<string> arguments, string? stdin = null) =>
        ProcessRunner.RunAsync(ExecutablePath, arguments, TimeSpan.FromSeconds(120), stdin, _directory.Path, Environment);

    /// <summary>Like <see cref="RunAsync"/>, but throws with all output unless it exits with 0.</summary>
    public async Task<ProcessResult> RunCheckedAsync(IReadOnlyList<string> arguments, string? stdin = null) =>
        (await RunAsync(arguments, stdin).ConfigureAwait(false)).EnsureSuccess();

    /// <inheritdoc/>
    public void Dispose() => _directory.Dispose();
}

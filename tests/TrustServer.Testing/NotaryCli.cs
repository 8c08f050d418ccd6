using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrustServer.Testing;

/// <summary>
/// Runs the real Go <c>notary</c> client (Debian package <c>notary</c>, 0.7.0) against a server, with a fresh
/// trust directory per instance (deleted on dispose) and a generated client config file. Passphrases come from
/// the <c>NOTARY_*_PASSPHRASE</c> environment variables so the client never prompts; stdin is closed (or fed the
/// given text) so a prompt that does appear fails fast instead of hanging.
/// </summary>
/// <example>
/// <code>
/// using var notary = new NotaryCli(server.Url);
/// await notary.RunCheckedAsync(["init", "example.com/test/repo", "--publish"]);
/// var list = await notary.RunCheckedAsync(["list", "example.com/test/repo"]);
/// await notary.RunCheckedAsync(["key", "rotate", "example.com/test/repo", "root"], stdin: "yes\n");
/// </code>
/// </example>
public sealed class NotaryCli : IDisposable
{
    /// <summary>The passphrase set for every role by default.</summary>
    public const string DefaultPassphrase = "trustserver-test-passphrase";

    /// <summary>The Debian package providing the client.</summary>
    public const string DebianPackage = "notary";

    private static readonly string[] PassphraseVariables =
        ["NOTARY_ROOT_PASSPHRASE", "NOTARY_TARGETS_PASSPHRASE", "NOTARY_SNAPSHOT_PASSPHRASE", "NOTARY_DELEGATION_PASSPHRASE"];

    private readonly TemporaryDirectory _directory;

    /// <summary>Prepares a client for <paramref name="serverUrl"/> with default options.</summary>
    /// <param name="serverUrl">Server base URL; plain <c>http://</c> is accepted by the client.</param>
    /// <param name="tlsCaCertPath">PEM CA bundle to trust for an <c>https://</c> server (config <c>root_ca</c>).</param>
    public NotaryCli(string serverUrl, string? tlsCaCertPath = null)
        : this(new NotaryCliOptions { ServerUrl = serverUrl, TlsCaCertPath = tlsCaCertPath })
    {
    }

    /// <summary>Prepares a client as described by <paramref name="options"/>.</summary>
    /// <param name="options">Server, TLS files, passphrase, credentials, timeout.</param>
    public NotaryCli(NotaryCliOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.ServerUrl);
        ExecutablePath = options.ExecutablePath ?? FindExecutable();
        ServerUrl = options.ServerUrl;
        DefaultTimeout = options.Timeout;
        Debug = options.Debug;

        _directory = new TemporaryDirectory("notary-cli");
        TrustDirectory = _directory.Combine("trust");
        Directory.CreateDirectory(TrustDirectory);
        Directory.CreateDirectory(_directory.Combine("home"));

        var remote = new JsonObject { ["url"] = options.ServerUrl };
        if (options.TlsCaCertPath is not null)
        {
            remote["root_ca"] = Path.GetFullPath(options.TlsCaCertPath);
        }

        if (options.TlsClientCertPath is not null)
        {
            remote["tls_client_cert"] = Path.GetFullPath(options.TlsClientCertPath);
        }

        if (options.TlsClientKeyPath is not null)
        {
            remote["tls_client_key"] = Path.GetFullPath(options.TlsClientKeyPath);
        }

        var config = new JsonObject { ["trust_dir"] = TrustDirectory, ["remote_server"] = remote };
        ConfigFilePath = _directory.Combine("config.json");
        File.WriteAllText(ConfigFilePath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        foreach (var variable in PassphraseVariables)
        {
            EnvironmentVariables[variable] = options.Passphrase;
        }

        // HOME points into the temp directory so nothing reads or writes the real ~/.notary.
        EnvironmentVariables["HOME"] = _directory.Combine("home");
        EnvironmentVariables["NOTARY_AUTH"] = options.Auth;
    }

    /// <summary>Absolute path of the notary executable used.</summary>
    public string ExecutablePath { get; }

    /// <summary>The server URL written into the client config.</summary>
    public string ServerUrl { get; }

    /// <summary>This instance's private trust directory (keys and cached metadata).</summary>
    public string TrustDirectory { get; }

    /// <summary>The generated client config file passed with <c>-c</c>.</summary>
    public string ConfigFilePath { get; }

    /// <summary>Timeout applied when a run does not give its own.</summary>
    public TimeSpan DefaultTimeout { get; set; }

    /// <summary>Whether to pass <c>-D</c> (debug logging to stderr) to every command.</summary>
    public bool Debug { get; set; }

    /// <summary>
    /// Environment variables set for every run (on top of this process's environment): the four passphrases,
    /// <c>HOME</c> and <c>NOTARY_AUTH</c>. A null value removes the variable. Change entries between runs as needed.
    /// </summary>
    public IDictionary<string, string?> EnvironmentVariables { get; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary>Sets the same passphrase for the root, targets, snapshot and delegation keys.</summary>
    /// <param name="passphrase">The passphrase.</param>
    public void SetPassphrase(string passphrase)
    {
        foreach (var variable in PassphraseVariables)
        {
            EnvironmentVariables[variable] = passphrase;
        }
    }

    /// <summary>Sets <c>NOTARY_AUTH</c> (base64 of <c>user:password</c>) for token-server basic authentication.</summary>
    /// <param name="user">User name.</param>
    /// <param name="password">Password.</param>
    public void SetBasicAuth(string user, string password) =>
        EnvironmentVariables["NOTARY_AUTH"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    /// <summary>Runs <c>notary -c &lt;config&gt; [-D] &lt;arguments&gt;</c> and captures its output.</summary>
    /// <param name="arguments">Command and its arguments, e.g. <c>["list", gun]</c>.</param>
    /// <param name="stdin">Text for standard input (e.g. <c>"yes\n"</c> to confirm a root rotation); closed at once when null.</param>
    /// <param name="timeout">Kill the process tree after this long; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Kills the process and throws when cancelled.</param>
    /// <returns>Exit code, output and whether it timed out; never throws for a non-zero exit.</returns>
    public Task<ProcessResult> RunAsync(
        IReadOnlyList<string> arguments,
        string? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        string[] fullArguments = Debug ? ["-c", ConfigFilePath, "-D", .. arguments] : ["-c", ConfigFilePath, .. arguments];
        return ProcessRunner.RunAsync(
            ExecutablePath,
            fullArguments,
            timeout ?? DefaultTimeout,
            stdin,
            workingDirectory: _directory.Path,
            environment: EnvironmentVariables,
            cancellationToken: cancellationToken);
    }

    /// <summary>Like <see cref="RunAsync"/> but throws <see cref="ProcessFailedException"/> with all output unless
    /// the command exits with 0.</summary>
    /// <param name="arguments">Command and its arguments.</param>
    /// <param name="stdin">Text for standard input, or null.</param>
    /// <param name="timeout">Timeout; <see cref="DefaultTimeout"/> when null.</param>
    /// <param name="cancellationToken">Kills the process and throws when cancelled.</param>
    /// <returns>The successful result.</returns>
    public async Task<ProcessResult> RunCheckedAsync(
        IReadOnlyList<string> arguments,
        string? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default) =>
        (await RunAsync(arguments, stdin, timeout, cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    /// <summary>Deletes the trust directory, config and fake home.</summary>
    public void Dispose() => _directory.Dispose();

    /// <summary>Finds <c>notary</c> on PATH (or /usr/bin).</summary>
    /// <returns>The absolute path.</returns>
    /// <exception cref="InvalidOperationException">The client is not installed; the message says how to install it.</exception>
    public static string FindExecutable() =>
        ExecutableLocator.Find("notary", "/usr/bin")
        ?? throw new InvalidOperationException(
            "The notary client is not installed (no 'notary' on PATH). Install the Debian package "
            + $"'{DebianPackage}' (0.7.0): `apt-get update && apt-get install -y {DebianPackage}` — scripts/test.sh does this.");
}

/// <summary>Settings for a <see cref="NotaryCli"/>.</summary>
public sealed class NotaryCliOptions
{
    /// <summary>Server base URL (<c>remote_server.url</c>); plain <c>http://</c> is accepted by the client.</summary>
    public required string ServerUrl { get; init; }

    /// <summary>PEM CA bundle to trust for the server's TLS certificate (<c>remote_server.root_ca</c>).</summary>
    public string? TlsCaCertPath { get; init; }

    /// <summary>PEM client certificate for mutual TLS (<c>remote_server.tls_client_cert</c>).</summary>
    public string? TlsClientCertPath { get; init; }

    /// <summary>PEM client key for mutual TLS (<c>remote_server.tls_client_key</c>).</summary>
    public string? TlsClientKeyPath { get; init; }

    /// <summary>Passphrase for all four key roles; <see cref="NotaryCli.DefaultPassphrase"/> by default.</summary>
    public string Passphrase { get; init; } = NotaryCli.DefaultPassphrase;

    /// <summary>Value of <c>NOTARY_AUTH</c> (base64 <c>user:password</c>), or null for none.</summary>
    public string? Auth { get; init; }

    /// <summary>Default per-command timeout (60 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Pass <c>-D</c> for debug logs on stderr.</summary>
    public bool Debug { get; init; }

    /// <summary>Path of the notary executable; found on PATH when null.</summary>
    public string? ExecutablePath { get; init; }
}

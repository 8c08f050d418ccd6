using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace TrustServer.Testing;

/// <summary>
/// The real Go notary-server 0.7.0 (Debian package <c>notary</c>, <c>/usr/bin/notary-server</c>) running on a
/// free 127.0.0.1 port from a generated JSON config — memory storage and the in-process ("local") signer by
/// default — as the reference implementation for compatibility tests. Killed on dispose; its log (JSON lines on
/// stderr) is included in start-up failures and available through <see cref="Log"/>.
/// </summary>
/// <example>
/// <code>
/// await using var server = await ReferenceNotaryServer.StartAsync();
/// using var notary = new NotaryCli(server.Url);
/// await notary.RunCheckedAsync(["init", "example.com/test/repo", "--publish"]);
/// </code>
/// </example>
public sealed class ReferenceNotaryServer : IAsyncDisposable, IDisposable
{
    private readonly Process _process;
    private readonly TemporaryDirectory _directory;
    private readonly StringBuilder _log = new();
    private int _disposed;

    private ReferenceNotaryServer(Process process, TemporaryDirectory directory, string url, int port, string configPath)
    {
        _process = process;
        _directory = directory;
        Url = url;
        Port = port;
        ConfigFilePath = configPath;
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:40123</c> (https when TLS files were configured).</summary>
    public string Url { get; }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The generated config file.</summary>
    public string ConfigFilePath { get; }

    /// <summary>Everything the server wrote to stdout and stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Finds <c>notary-server</c> on PATH (or /usr/bin).</summary>
    /// <returns>The absolute path.</returns>
    /// <exception cref="InvalidOperationException">Not installed; the message names the Debian package.</exception>
    public static string FindExecutable() =>
        ExecutableLocator.Find("notary-server", "/usr/bin")
        ?? throw new InvalidOperationException(
            "notary-server is not installed (no 'notary-server' on PATH). Install the Debian package "
            + $"'{NotaryCli.DebianPackage}' (0.7.0): `apt-get update && apt-get install -y {NotaryCli.DebianPackage}` — scripts/test.sh does this.");

    /// <summary>Writes the config, starts the server and waits until <c>/_notary_server/health</c> answers 200.</summary>
    /// <param name="options">Storage, trust service, TLS and logging settings; defaults when null.</param>
    /// <param name="cancellationToken">Cancels start-up (the process is killed).</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">The server did not become healthy; the message holds its log.</exception>
    public static async Task<ReferenceNotaryServer> StartAsync(ReferenceNotaryServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ReferenceNotaryServerOptions();
        var executable = options.ExecutablePath ?? FindExecutable();
        var failures = new StringBuilder();

        // A free port can be taken before the server binds it: retry a few times with a new one.
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var directory = new TemporaryDirectory("notary-server");
            var port = TestPorts.GetFreeTcpPort();
            var configPath = directory.Combine("server-config.json");
            await File.WriteAllTextAsync(configPath, BuildConfig(options, port).ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken)
                .ConfigureAwait(false);

            var startInfo = new ProcessStartInfo(executable)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory.Path,
            };
            startInfo.ArgumentList.Add($"-config={configPath}");
            foreach (var (key, value) in options.EnvironmentVariables)
            {
                startInfo.Environment[key] = value;
            }

            var scheme = options.TlsCertFile is null ? "http" : "https";
            var server = new ReferenceNotaryServer(
                new Process { StartInfo = startInfo, EnableRaisingEvents = true },
                directory,
                $"{scheme}://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                port,
                configPath);
            try
            {
                await server.StartProcessAndWaitAsync(options, cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (InvalidOperationException ex)
            {
                server.Dispose();
                failures.Append(CultureInfo.InvariantCulture, $"attempt {attempt} on port {port}: {ex.Message}\n");
                if (!ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    break;
                }
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }

        throw new InvalidOperationException($"The reference notary-server did not start:\n{failures}");
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ProcessRunner.KillAndDispose(_process);
        _directory.Dispose();
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static JsonObject BuildConfig(ReferenceNotaryServerOptions options, int port)
    {
        var server = new JsonObject { ["http_addr"] = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}" };
        if (options.TlsCertFile is not null)
        {
            server["tls_cert_file"] = Path.GetFullPath(options.TlsCertFile);
            server["tls_key_file"] = Path.GetFullPath(options.TlsKeyFile
                ?? throw new ArgumentException("TlsKeyFile is required with TlsCertFile.", nameof(options)));
        }

        if (options.ClientCaFile is not null)
        {
            server["client_ca_file"] = Path.GetFullPath(options.ClientCaFile);
        }

        var trustService = new JsonObject { ["type"] = options.TrustServiceType };
        var keyAlgorithm = options.KeyAlgorithm ?? (options.TrustServiceType == "remote" ? "ecdsa" : null);
        if (keyAlgorithm is not null)
        {
            trustService["key_algorithm"] = keyAlgorithm;
        }

        AddIfSet(trustService, "hostname", options.TrustServiceHostname);
        AddIfSet(trustService, "port", options.TrustServicePort?.ToString(CultureInfo.InvariantCulture));
        AddIfSet(trustService, "tls_ca_file", FullPathOrNull(options.TrustServiceTlsCaFile));
        AddIfSet(trustService, "tls_client_cert", FullPathOrNull(options.TrustServiceTlsClientCert));
        AddIfSet(trustService, "tls_client_key", FullPathOrNull(options.TrustServiceTlsClientKey));

        var storage = new JsonObject { ["backend"] = options.StorageBackend };
        AddIfSet(storage, "db_url", options.StorageDbUrl);

        var config = new JsonObject
        {
            ["server"] = server,
            ["trust_service"] = trustService,
            ["storage"] = storage,
            ["logging"] = new JsonObject { ["level"] = options.LogLevel },
        };
        options.ConfigureJson?.Invoke(config);
        return config;
    }

    private static void AddIfSet(JsonObject target, string key, string? value)
    {
        if (value is not null)
        {
            target[key] = value;
        }
    }

    private static string? FullPathOrNull(string? path) => path is null ? null : Path.GetFullPath(path);

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.Append(line).Append('\n');
        }
    }

    private async Task StartProcessAndWaitAsync(ReferenceNotaryServerOptions options, CancellationToken cancellationToken)
    {
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();

        // Kill the server if the test process dies hard; /proc/<pid>/cmdline guards against a reused pid.
        var pid = _process.Id.ToString(CultureInfo.InvariantCulture);
        ExitWatchdog.Start(
            $"if grep -q {ExitWatchdog.Quote(ConfigFilePath)} /proc/{pid}/cmdline 2>/dev/null; then kill -9 {pid}; fi; "
            + $"rm -rf {ExitWatchdog.Quote(_directory.Path)}");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _process.StandardInput.Close();

        using var handler = new HttpClientHandler
        {
            // Readiness probe only: the test's own client verifies the certificate properly.
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        var healthUrl = new Uri(Url + "/_notary_server/health");
        var stopwatch = Stopwatch.StartNew();
        string lastProblem = "no answer yet";
        while (stopwatch.Elapsed < options.StartupTimeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                _process.WaitForExit(); // flush the asynchronous output readers
                throw new InvalidOperationException(
                    $"notary-server exited with code {_process.ExitCode} during start-up.\n--- config ---\n{await File.ReadAllTextAsync(ConfigFilePath, cancellationToken).ConfigureAwait(false)}\n--- log ---\n{Log}");
            }

            if (options.ClientCaFile is not null)
            {
                // Mutual TLS: without a client certificate the health URL cannot be fetched; an open port will do.
                lastProblem = await TryConnectAsync(cancellationToken).ConfigureAwait(false) ?? string.Empty;
                if (lastProblem.Length == 0)
                {
                    return;
                }
            }
            else
            {
                try
                {
                    using var response = await client.GetAsync(healthUrl, cancellationToken).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }

                    lastProblem = $"health answered {(int)response.StatusCode}";
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    lastProblem = ex.Message;
                }
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException(
            $"notary-server at {Url} was not healthy after {options.StartupTimeout.TotalSeconds:F0} s ({lastProblem}).\n--- log ---\n{Log}");
    }

    private async Task<string?> TryConnectAsync(CancellationToken cancellationToken)
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync("127.0.0.1", Port, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (SocketException ex)
        {
            return ex.Message;
        }
    }
}

/// <summary>Settings for <see cref="ReferenceNotaryServer"/>; see spec/config-and-ops.md §3 for the keys.</summary>
public sealed class ReferenceNotaryServerOptions
{
    /// <summary><c>storage.backend</c>: <c>memory</c> (default) or <c>postgres</c>, <c>mysql</c>, ...</summary>
    public string StorageBackend { get; init; } = "memory";

    /// <summary><c>storage.db_url</c> for SQL backends, e.g. <c>postgres://user:pw@127.0.0.1:5432/db?sslmode=disable</c>.</summary>
    public string? StorageDbUrl { get; init; }

    /// <summary><c>trust_service.type</c>: <c>local</c> (default; in-process Ed25519 keys) or <c>remote</c> (notary-signer).</summary>
    public string TrustServiceType { get; init; } = "local";

    /// <summary>
    /// <c>trust_service.key_algorithm</c> (<c>ecdsa</c> or <c>ed25519</c>). Omitted when null, except that
    /// <c>remote</c> defaults to <c>ecdsa</c>. The local trust service ignores it and always uses Ed25519.
    /// </summary>
    public string? KeyAlgorithm { get; init; }

    /// <summary><c>trust_service.hostname</c> of a remote signer.</summary>
    public string? TrustServiceHostname { get; init; }

    /// <summary><c>trust_service.port</c> of a remote signer.</summary>
    public int? TrustServicePort { get; init; }

    /// <summary><c>trust_service.tls_ca_file</c>: CA of the remote signer's certificate.</summary>
    public string? TrustServiceTlsCaFile { get; init; }

    /// <summary><c>trust_service.tls_client_cert</c> for mutual TLS to the signer.</summary>
    public string? TrustServiceTlsClientCert { get; init; }

    /// <summary><c>trust_service.tls_client_key</c> for mutual TLS to the signer.</summary>
    public string? TrustServiceTlsClientKey { get; init; }

    /// <summary><c>server.tls_cert_file</c>; the server speaks HTTPS when set.</summary>
    public string? TlsCertFile { get; init; }

    /// <summary><c>server.tls_key_file</c>; required with <see cref="TlsCertFile"/>.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary><c>server.client_ca_file</c>: require client certificates issued by this CA.</summary>
    public string? ClientCaFile { get; init; }

    /// <summary><c>logging.level</c> (<c>info</c> by default).</summary>
    public string LogLevel { get; init; } = "info";

    /// <summary>How long to wait for the health endpoint (30 s).</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Last-chance edit of the generated config JSON (e.g. to add <c>auth</c> or <c>caching</c>).</summary>
    public Action<JsonObject>? ConfigureJson { get; init; }

    /// <summary>Extra environment variables for the server process (e.g. <c>NOTARY_SERVER_*</c> overrides).</summary>
    public IReadOnlyDictionary<string, string> EnvironmentVariables { get; init; } = new Dictionary<string, string>();

    /// <summary>Path of the notary-server executable; found on PATH when null.</summary>
    public string? ExecutablePath { get; init; }
}

/// <summary>
/// xunit class fixture running one <see cref="ReferenceNotaryServer"/> with default options for a test class.
/// </summary>
public sealed class ReferenceNotaryServerFixture : IAsyncLifetime
{
    private ReferenceNotaryServer? _server;

    /// <summary>The running server.</summary>
    public ReferenceNotaryServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <summary>Starts the server.</summary>
    /// <returns>A task that completes when the server is healthy.</returns>
    public async Task InitializeAsync() => _server = await ReferenceNotaryServer.StartAsync().ConfigureAwait(false);

    /// <summary>Stops the server.</summary>
    /// <returns>A task that completes when it is stopped.</returns>
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }
    }
}

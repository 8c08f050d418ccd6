using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace TrustServer.Testing;

/// <summary>
/// A real Docker Distribution registry (Debian's <c>docker-registry</c>, Distribution 2.8) over HTTPS on 127.0.0.1 with
/// token authentication, filesystem storage in a temporary directory. Killed on dispose.
/// </summary>
public sealed class DockerRegistry : IDisposable
{
    /// <summary>The Debian package that ships <c>/usr/bin/docker-registry</c>.</summary>
    public const string DebianPackage = "docker-registry";

    private readonly Process _process;
    private readonly TemporaryDirectory _directory;
    private readonly StringBuilder _log = new();
    private int _disposed;

    private DockerRegistry(Process process, TemporaryDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    /// <summary>The port it listens on (127.0.0.1).</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:&lt;port&gt;</c>, the registry part of image references.</summary>
    public string Host => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Base URL, <c>https://127.0.0.1:&lt;port&gt;</c>.</summary>
    public string Url => "https://" + Host;

    /// <summary>Everything the registry logged so far.</summary>
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

    /// <summary>Finds <c>docker-registry</c> on PATH (or /usr/bin); the message names the Debian package otherwise.</summary>
    public static string FindExecutable() =>
        ExecutableLocator.Find("docker-registry", "/usr/bin")
        ?? throw new InvalidOperationException(
            $"docker-registry is not installed. Install the Debian package '{DebianPackage}' (Distribution 2.8): "
            + $"`apt-get update && apt-get install -y {DebianPackage}` — scripts/test.sh does this.");

    /// <summary>
    /// Starts the registry on <paramref name="port"/> with TLS (<paramref name="tlsCertificateFile"/>, <paramref name="tlsKeyFile"/>) and
    /// distribution's token auth (<c>auth.token</c>: realm, service, issuer, rootcertbundle), and waits until <c>/v2/</c>
    /// answers its 401 challenge.
    /// </summary>
    public static async Task<DockerRegistry> StartAsync(
        int port, string tlsCertificateFile, string tlsKeyFile, string realm, string service, string issuer, string rootCertBundle, CancellationToken cancellationToken = default)
    {
        var executable = FindExecutable();
        var directory = new TemporaryDirectory("docker-registry");
        var configPath = directory.Combine("config.yml");
        // YAML double-quoted scalars: the paths and names are test-made (no quotes or backslashes).
        var config = $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: "{directory.Combine("storage")}"
            http:
              addr: "127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"
              secret: "{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))}"
              tls:
                certificate: "{Path.GetFullPath(tlsCertificateFile)}"
                key: "{Path.GetFullPath(tlsKeyFile)}"
            auth:
              token:
                realm: "{realm}"
                service: "{service}"
                issuer: "{issuer}"
                rootcertbundle: "{Path.GetFullPath(rootCertBundle)}"
            """;
        await File.WriteAllTextAsync(configPath, config, cancellationToken).ConfigureAwait(false);

        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory.Path,
        };
        startInfo.ArgumentList.Add("serve");
        startInfo.ArgumentList.Add(configPath);
        var registry = new DockerRegistry(new Process { StartInfo = startInfo, EnableRaisingEvents = true }, directory, port);
        try
        {
            await registry.StartAndWaitAsync(configPath, cancellationToken).ConfigureAwait(false);
            return registry;
        }
        catch
        {
            registry.Dispose();
            throw;
        }
    }

    /// <summary>Kills the registry and deletes its directory.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        ProcessRunner.KillAndDispose(_process);
        _directory.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.Append(line).Append('\n');
            }
        }
    }

    private async Task StartAndWaitAsync(string configPath, CancellationToken cancellationToken)
    {
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        var pid = _process.Id.ToString(CultureInfo.InvariantCulture);
        ExitWatchdog.Start(
            $"if grep -q {ExitWatchdog.Quote(configPath)} /proc/{pid}/cmdline 2>/dev/null; then kill -9 {pid}; fi; rm -rf {ExitWatchdog.Quote(_directory.Path)}");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _process.StandardInput.Close();

        using var handler = new HttpClientHandler
        {
            // Readiness probe only: the tests' clients check the certificate.
            ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator,
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        var stopwatch = Stopwatch.StartNew();
        var lastProblem = "no answer yet";
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                _process.WaitForExit();
                throw new InvalidOperationException($"docker-registry exited with code {_process.ExitCode} during start-up.\n--- log ---\n{Log}");
            }

            try
            {
                using var response = await client.GetAsync(new Uri(Url + "/v2/"), cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
                {
                    return;
                }

                lastProblem = $"/v2/ answered {(int)response.StatusCode}";
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                lastProblem = ex.Message;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new InvalidOperationException($"docker-registry at {Url} did not answer after 30 s ({lastProblem}).\n--- log ---\n{Log}");
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using TrustServer.Testing;

namespace TrustServer.Signing.Tests.Support;

/// <summary>
/// The real notary-signer 0.7.0 (<c>/usr/bin/notary-signer</c>, Debian package <c>notary</c>) with PostgreSQL storage on
/// a free loopback port, TLS from a test CA. Killed on dispose (and by a watchdog if the test host dies).
/// </summary>
internal sealed class NotarySignerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TemporaryDirectory _directory;
    private readonly StringBuilder _log = new();

    private NotarySignerProcess(Process process, TemporaryDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

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

    /// <summary>Starts the signer over <paramref name="connectionString"/> (the table must exist) and waits for its port.</summary>
    public static async Task<NotarySignerProcess> StartAsync(
        string connectionString, TestCertificate serverCertificate, string defaultAlias, string passphrase)
    {
        var executable = File.Exists("/usr/bin/notary-signer")
            ? "/usr/bin/notary-signer"
            : throw new InvalidOperationException("notary-signer is not installed: `apt-get install -y notary`.");
        var directory = new TemporaryDirectory("notary-signer");
        var (certificatePath, keyPath) = serverCertificate.WriteFiles(directory.Path, "signer");
        var port = TestPorts.GetFreeTcpPort();
        var db = new NpgsqlConnectionStringBuilder(connectionString);
        var dbUrl = string.Create(
            CultureInfo.InvariantCulture,
            $"postgres://{Uri.EscapeDataString(db.Username!)}:{Uri.EscapeDataString(db.Password ?? string.Empty)}@{db.Host}:{db.Port}/{db.Database}?sslmode=disable");
        var config = new JsonObject
        {
            ["server"] = new JsonObject
            {
                ["grpc_addr"] = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                ["tls_cert_file"] = certificatePath,
                ["tls_key_file"] = keyPath,
            },
            ["logging"] = new JsonObject { ["level"] = "debug" },
            ["storage"] = new JsonObject { ["backend"] = "postgres", ["db_url"] = dbUrl, ["default_alias"] = defaultAlias },
        };
        var configPath = directory.Combine("signer-config.json");
        await File.WriteAllTextAsync(configPath, config.ToJsonString());

        var startInfo = new ProcessStartInfo(executable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory.Path,
        };
        startInfo.ArgumentList.Add($"-config={configPath}");
        startInfo.Environment["NOTARY_SIGNER_" + defaultAlias.ToUpperInvariant()] = passphrase;
        var signer = new NotarySignerProcess(new Process { StartInfo = startInfo }, directory, port);
        try
        {
            await signer.StartAndWaitAsync(configPath);
            return signer;
        }
        catch
        {
            await signer.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task StartAndWaitAsync(string configPath)
    {
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        StartWatchdog(configPath);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        _process.StandardInput.Close();

        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                throw new InvalidOperationException($"notary-signer exited with {_process.ExitCode}:\n{Log}");
            }

            using var tcp = new TcpClient();
            try
            {
                await tcp.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new InvalidOperationException($"notary-signer did not listen on {Port}:\n{Log}");
    }

    // Kills an orphaned signer if the test host dies hard (same idea as TrustServer.Testing's watchdog).
    private void StartWatchdog(string configPath)
    {
        if (!File.Exists("/usr/bin/setsid"))
        {
            return;
        }

        var pid = _process.Id.ToString(CultureInfo.InvariantCulture);
        var script = "exec </dev/null >/dev/null 2>&1; "
            + $"while kill -0 {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} 2>/dev/null; do sleep 2; done; "
            + $"if grep -q '{configPath}' /proc/{pid}/cmdline 2>/dev/null; then kill -9 {pid}; fi";
        var startInfo = new ProcessStartInfo("/usr/bin/setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "-f", "/bin/sh", "-c", script })
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var watchdog = Process.Start(startInfo);
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
}

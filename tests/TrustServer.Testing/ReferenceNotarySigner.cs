using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
namespace TrustServer.Testing;

/// <summary>How to run the real notary-signer.</summary>
public sealed class ReferenceNotarySignerOptions
{
    /// <summary>TLS certificate of the signer (needs a SAN for the host name clients dial, e.g. 127.0.0.1 / localhost).</summary>
    public required TestCertificate ServerCertificate { get; init; }

    /// <summary>Connection string (Npgsql or MySqlConnector, see <see cref="Provider"/>) of a database holding notary-signer's
    /// <c>private_keys</c> table; null = memory storage.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The backend <see cref="ConnectionString"/> names (PostgreSQL by default).</summary>
    public NotaryDatabaseProvider Provider { get; init; } = NotaryDatabaseProvider.Postgres;

    /// <summary>PEM bundle of CAs whose client certificates are required (mutual TLS); null = no client certificates.</summary>
    public string? ClientCaFile { get; init; }

    /// <summary>Passphrase alias for new keys (<c>storage.default_alias</c>).</summary>
    public string DefaultAlias { get; init; } = "timestamp_1";

    /// <summary>Port on 127.0.0.1; a free one when null (set it to restart a stopped signer where clients expect it).</summary>
    public int? Port { get; init; }

    /// <summary>Passphrase of <see cref="DefaultAlias"/>, passed as <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>.</summary>
    public string Passphrase { get; init; } = "reference-signer-passphrase";
}

/// <summary>
/// The real notary-signer 0.7.0 (<c>/usr/bin/notary-signer</c>, Debian package <c>notary</c>) on a free loopback port,
/// TLS from a test CA, PostgreSQL, MySQL/MariaDB or memory storage. Killed on dispose (and by a watchdog if the test host dies).
/// </summary>
public sealed class ReferenceNotarySigner : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TemporaryDirectory _directory;
    private readonly StringBuilder _log = new();

    private ReferenceNotarySigner(Process process, TemporaryDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    /// <summary>The gRPC port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Everything the signer printed so far.</summary>
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

    /// <summary>Starts the signer and waits until its port accepts connections.</summary>
    /// <param name="options">Certificate, storage, client CA and passphrase.</param>
    /// <returns>The running signer; dispose it to kill it.</returns>
    public static async Task<ReferenceNotarySigner> StartAsync(ReferenceNotarySignerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var executable = File.Exists("/usr/bin/notary-signer")
            ? "/usr/bin/notary-signer"
            : throw new InvalidOperationException("notary-signer is not installed: `apt-get install -y notary`.");
        var directory = new TemporaryDirectory("notary-signer");
        var (certificatePath, keyPath) = options.ServerCertificate.WriteFiles(directory.Path, "signer");
        var port = options.Port ?? TestPorts.GetFreeTcpPort();
        var storage = new JsonObject { ["backend"] = "memory" };
        if (options.ConnectionString is not null)
        {
            storage = new JsonObject
            {
                ["backend"] = NotaryServerSchema.BackendName(options.Provider),
                ["db_url"] = NotaryServerSchema.NotaryDbUrl(options.Provider, options.ConnectionString),
                ["default_alias"] = options.DefaultAlias,
            };
        }

        var server = new JsonObject
        {
            ["grpc_addr"] = $"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            ["tls_cert_file"] = certificatePath,
            ["tls_key_file"] = keyPath,
        };
        if (options.ClientCaFile is not null)
        {
            server["client_ca_file"] = options.ClientCaFile;
        }

        var config = new JsonObject
        {
            ["server"] = server,
            ["logging"] = new JsonObject { ["level"] = "debug" },
            ["storage"] = storage,
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
        startInfo.Environment["NOTARY_SIGNER_" + options.DefaultAlias.ToUpperInvariant().Replace('.', '_')] = options.Passphrase;
        var signer = new ReferenceNotarySigner(new Process { StartInfo = startInfo }, directory, port);
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

    /// <summary>Kills the signer and deletes its files.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        ProcessRunner.KillAndDispose(_process);
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

    // Kills an orphaned signer (and removes its files) if the test host dies hard.
    private void StartWatchdog(string configPath)
    {
        var pid = _process.Id.ToString(CultureInfo.InvariantCulture);
        ExitWatchdog.Start(
            $"if grep -q {ExitWatchdog.Quote(configPath)} /proc/{pid}/cmdline 2>/dev/null; then kill -9 {pid}; fi; "
            + $"rm -rf {ExitWatchdog.Quote(_directory.Path)}");
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

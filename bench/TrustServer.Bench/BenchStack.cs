using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using TrustServer.Testing;

namespace TrustServer.Bench;

/// <summary>A server under test: its base URL and the process whose RSS is reported.</summary>
internal sealed record Target(string Name, string Url, ChildProcess Process);

/// <summary>
/// Everything the benchmark runs against, on one machine: a private PostgreSQL; TrustServer (server + our signer,
/// remote signing over mutual TLS, HTTPS); the reference notary-server + notary-signer 0.7.0 (TLS, mutual TLS to
/// the signer, PostgreSQL storage) on the same PostgreSQL server; and the control endpoint C0. All servers are
/// child processes (PIDs known for RSS), killed on dispose.
/// </summary>
internal sealed class BenchStack : IDisposable
{
    public const string SignerAlias = "timestamp_1";

    private const string SignerPassphrase = "bench-signer-passphrase-0123456789";

    private const string NotaryServerPath = "/usr/bin/notary-server";

    private readonly List<IDisposable> _owned = [];

    // Reference server processes that died and were replaced (RestartReferenceIfExitedAsync).
    private readonly List<ChildProcess> _retired = [];
    private string[] _referenceArguments = [];

    private BenchStack(string workDirectory, string logDirectory, string caFile)
    {
        WorkDirectory = workDirectory;
        LogDirectory = logDirectory;
        CaFile = caFile;
        Http = CreateHttpClient(caFile);
    }

    /// <summary>Temporary configs, certificates and working directories (deleted on dispose).</summary>
    public string WorkDirectory { get; }

    /// <summary>Where child process logs go (kept with the results).</summary>
    public string LogDirectory { get; }

    /// <summary>The CA of every TLS certificate in the stack (PEM).</summary>
    public string CaFile { get; }

    /// <summary>An HTTP/1.1 client trusting <see cref="CaFile"/>.</summary>
    public HttpClient Http { get; }

    public string PostgresDescription { get; private set; } = string.Empty;

    /// <summary>TrustServer's metadata database (the scale row bulk-loads and explains queries there).</summary>
    public string MetadataConnectionString { get; private set; } = string.Empty;

    public Target TrustServer { get; private set; } = null!;

    public ChildProcess TrustServerSigner { get; private set; } = null!;

    public Target Reference { get; private set; } = null!;

    public ChildProcess ReferenceSigner { get; private set; } = null!;

    public Target Control { get; private set; } = null!;

    /// <summary>Every child whose memory is reported.</summary>
    public IEnumerable<(string Name, ChildProcess Process)> Processes =>
    [
        ("TrustServer server", TrustServer.Process), ("TrustServer signer", TrustServerSigner),
        ("notary-server", Reference.Process), ("notary-signer", ReferenceSigner), ("C0", Control.Process),
    ];

    public static async Task<BenchStack> StartAsync(string logDirectory, Action<string> progress, CancellationToken cancellationToken)
    {
        var work = new TemporaryDirectory("trustserver-bench");
        var ca = TestCertificates.CreateCertificateAuthority("TrustServer Bench CA");
        BenchStack stack;
        try
        {
            stack = new BenchStack(work.Path, logDirectory, ca.WriteCertificatePem(work.Combine("ca.pem")));
        }
        catch
        {
            ca.Dispose();
            work.Dispose();
            throw;
        }

        stack._owned.Add(work);
        stack._owned.Add(ca);
        try
        {
            await stack.StartAllAsync(ca, progress, cancellationToken);
            return stack;
        }
        catch
        {
            stack.Dispose();
            throw;
        }
    }

    /// <summary>Creates an HTTP client that trusts exactly the given CA (the test CA of the stack).</summary>
    public static HttpClient CreateHttpClient(string caFile, int maxConnections = int.MaxValue)
    {
        var trusted = X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(trusted);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(new X509Certificate2(certificate));
                },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60), DefaultRequestVersion = System.Net.HttpVersion.Version11 };
    }

    public void Dispose()
    {
        foreach (var process in Processes.Select(p => p.Process).Concat(_retired).Where(p => p is not null))
        {
            process.Dispose();
        }

        Http.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "TrustServer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find the repository root (TrustServer.sln) above " + AppContext.BaseDirectory);
    }

    internal static string Dll(string project)
    {
        var path = Path.Combine(RepositoryRoot(), "src", project, "bin", "Release", "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: build Release first (bench/run.sh does).");
    }

    internal static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    private async Task StartAllAsync(TestCertificate ca, Action<string> progress, CancellationToken cancellationToken)
    {
        var certificates = WorkDirectory;
        using var https = TestCertificates.CreateTlsServer(ca, "localhost");
        var (httpsCert, httpsKey) = https.WriteFiles(certificates, "https");
        using var signerTls = TestCertificates.CreateTlsServer(ca, "signer");
        var (signerCert, signerKey) = signerTls.WriteFiles(certificates, "signer");
        using var client = TestCertificates.CreateTlsClient(ca, "server-to-signer");
        var (clientCert, clientKey) = client.WriteFiles(certificates, "server-client");

        progress("starting PostgreSQL");
        var postgres = await PostgresServer.GetAsync();
        PostgresDescription = postgres.Description;
        var tsMetadata = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_trustserver", cancellationToken));
        MetadataConnectionString = tsMetadata;
        var tsKeys = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_trustserver_keys", cancellationToken));
        var refMetadata = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_notaryserver", cancellationToken));
        var refKeys = postgres.GetConnectionString(await postgres.CreateDatabaseAsync("bench_notarysigner", cancellationToken));
        await NotaryServerSchema.CreateServerTablesAsync(NotaryDatabaseProvider.Postgres, refMetadata, cancellationToken);
        await NotaryServerSchema.CreateSignerTablesAsync(NotaryDatabaseProvider.Postgres, refKeys, cancellationToken);

        var signerEnvironment = new Dictionary<string, string>
        {
            ["NOTARY_SIGNER_" + SignerAlias.ToUpperInvariant()] = SignerPassphrase,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
        };

        // --- TrustServer: our signer, then our server (remote signing over mutual TLS, HTTPS) ---
        progress("starting TrustServer signer and server");
        var signerDll = Dll("TrustServer.Signer");
        var tsSignerPort = TestPorts.GetFreeTcpPort();
        TrustServerSigner = Start(
            "trustserver-signer",
            DotnetHost(),
            [
                signerDll, "--contentRoot", Path.GetDirectoryName(signerDll)!,
                "--urls", $"https://127.0.0.1:{tsSignerPort}",
                $"--Tls:CertFile={signerCert}", $"--Tls:KeyFile={signerKey}", $"--Tls:ClientCaFile={CaFile}",
                "--Storage:Provider=Postgres", $"--ConnectionStrings:Keys={tsKeys}",
                $"--Keys:DefaultAlias={SignerAlias}", "--Logging:LogLevel:Default=Warning",
            ],
            signerEnvironment);

        // --- reference notary-signer (TLS, client certificates required, PostgreSQL) ---
        var refSignerPort = TestPorts.GetFreeTcpPort();
        var refSignerConfig = Path.Combine(WorkDirectory, "notary-signer.json");
        await File.WriteAllTextAsync(
            refSignerConfig,
            new JsonObject
            {
                ["server"] = new JsonObject
                {
                    ["grpc_addr"] = $"127.0.0.1:{refSignerPort}",
                    ["tls_cert_file"] = signerCert,
                    ["tls_key_file"] = signerKey,
                    ["client_ca_file"] = CaFile,
                },
                ["logging"] = new JsonObject { ["level"] = "warning" },
                ["storage"] = new JsonObject { ["backend"] = "postgres", ["db_url"] = NotaryServerSchema.NotaryDbUrl(NotaryDatabaseProvider.Postgres, refKeys), ["default_alias"] = SignerAlias },
            }.ToJsonString(),
            cancellationToken);
        ReferenceSigner = Start("notary-signer", "/usr/bin/notary-signer", [$"-config={refSignerConfig}"], signerEnvironment);

        await TrustServerSigner.WaitForPortAsync(tsSignerPort, TimeSpan.FromSeconds(60), cancellationToken);
        await ReferenceSigner.WaitForPortAsync(refSignerPort, TimeSpan.FromSeconds(30), cancellationToken);

        var serverDll = Dll("TrustServer.Server");
        var tsPort = TestPorts.GetFreeTcpPort();
        var tsProcess = Start(
            "trustserver-server",
            DotnetHost(),
            [
                serverDll, "--contentRoot", Path.GetDirectoryName(serverDll)!,
                "--urls", $"https://127.0.0.1:{tsPort}",
                $"--Kestrel:Certificates:Default:Path={httpsCert}", $"--Kestrel:Certificates:Default:KeyPath={httpsKey}",
                "--Storage:Provider=Postgres", $"--ConnectionStrings:Metadata={tsMetadata}",
                "--Signing:Mode=Remote", $"--Signing:Remote:Url=https://127.0.0.1:{tsSignerPort}",
                $"--Signing:Remote:CaFile={CaFile}", $"--Signing:Remote:ClientCertFile={clientCert}",
                $"--Signing:Remote:ClientKeyFile={clientKey}",
                "--Serilog:MinimumLevel:Default=Warning",
            ],
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_ENVIRONMENT"] = "Production" });
        TrustServer = new Target("TrustServer", $"https://127.0.0.1:{tsPort}", tsProcess);

        // --- reference notary-server (HTTPS, remote signer over mutual TLS, PostgreSQL) ---
        progress("starting notary-server and notary-signer");
        var refPort = TestPorts.GetFreeTcpPort();
        var refServerConfig = Path.Combine(WorkDirectory, "notary-server.json");
        await File.WriteAllTextAsync(
            refServerConfig,
            new JsonObject
            {
                ["server"] = new JsonObject
                {
                    ["http_addr"] = $"127.0.0.1:{refPort}",
                    ["tls_cert_file"] = httpsCert,
                    ["tls_key_file"] = httpsKey,
                },
                ["trust_service"] = new JsonObject
                {
                    ["type"] = "remote",
                    ["hostname"] = "127.0.0.1",
                    ["port"] = refSignerPort.ToString(CultureInfo.InvariantCulture),
                    ["key_algorithm"] = "ecdsa",
                    ["tls_ca_file"] = CaFile,
                    ["tls_client_cert"] = clientCert,
                    ["tls_client_key"] = clientKey,
                },
                ["storage"] = new JsonObject { ["backend"] = "postgres", ["db_url"] = NotaryServerSchema.NotaryDbUrl(NotaryDatabaseProvider.Postgres, refMetadata) },
                ["logging"] = new JsonObject { ["level"] = "warning" },
            }.ToJsonString(),
            cancellationToken);
        _referenceArguments = [$"-config={refServerConfig}"];
        Reference = new Target("notary-server", $"https://127.0.0.1:{refPort}", Start("notary-server", NotaryServerPath, _referenceArguments));

        // --- C0 ---
        var c0Port = TestPorts.GetFreeTcpPort();
        var self = typeof(BenchStack).Assembly.Location;
        var host = Environment.ProcessPath ?? DotnetHost();
        string[] c0Arguments = ["c0", "--port", c0Port.ToString(CultureInfo.InvariantCulture), "--cert", httpsCert, "--key", httpsKey];
        var c0Process = Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? Start("c0", host, [self, .. c0Arguments])
            : Start("c0", host, c0Arguments);
        Control = new Target("C0", $"https://127.0.0.1:{c0Port}", c0Process);

        progress("waiting for the servers to answer");
        await WaitHealthyAsync(TrustServer, "/_notary_server/health", cancellationToken);
        await WaitHealthyAsync(Reference, "/_notary_server/health", cancellationToken);
        await WaitHealthyAsync(Control, "/c0/1", cancellationToken);
    }

    /// <summary>
    /// notary-server 0.7.0 dies under concurrent updates ("fatal error: concurrent map read and map write", a data
    /// race of its own). When it has exited, starts it again (same configuration, port and database; its log is
    /// appended to) and returns why it died: the last "fatal error" line of its log, else its exit code. Null when
    /// it was running.
    /// </summary>
    public async Task<string?> RestartReferenceIfExitedAsync(CancellationToken cancellationToken)
    {
        if (!Reference.Process.HasExited)
        {
            return null;
        }

        var died = Reference.Process;
        var log = await File.ReadAllLinesAsync(died.LogPath, cancellationToken);
        var reason = log.LastOrDefault(line => line.StartsWith("fatal error", StringComparison.Ordinal)) ?? $"exit code {died.ExitCode}";
        _retired.Add(died);
        Reference = Reference with { Process = Start("notary-server", NotaryServerPath, _referenceArguments) };
        await WaitHealthyAsync(Reference, "/_notary_server/health", cancellationToken);
        return reason;
    }

    private ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var directory = Path.Combine(WorkDirectory, name);
        Directory.CreateDirectory(directory);
        return ChildProcess.Start(name, fileName, arguments, Path.Combine(LogDirectory, name + ".log"), directory, environment);
    }

    private Task WaitHealthyAsync(Target target, string path, CancellationToken cancellationToken) =>
        target.Process.WaitForSuccessAsync(Http, new Uri(target.Url + path), cancellationToken);
}

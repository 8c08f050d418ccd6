using System.Security.Cryptography;
using Npgsql;
using TrustServer.Server.Import;
using TrustServer.Testing;
using TestProvider = TrustServer.Testing.NotaryDatabaseProvider;

namespace TrustServer.Compat.Tests.Import;

/// <summary>
/// A real notary-server + notary-signer 0.7.0 on PostgreSQL (notary's own schema), populated by the real client:
/// a plain repository, one with its snapshot key rotated to the server, delegations with paths, a rotated root, a
/// deleted and re-created one, a deleted one, and one for late writes. Shared by the import tests of a class.
/// </summary>
public sealed class NotaryDeploymentFixture : IAsyncLifetime
{
    /// <summary>The passphrase alias notary-signer encrypts keys under, and its passphrase (also set for this process).</summary>
    public const string Alias = "timestamp_1";

    public const string Passphrase = ReferenceNotaryDeployment.SignerPassphrase;

    private readonly TemporaryDirectory _directory = new("notary-deployment");
    private readonly List<IDisposable> _owned = [];
    private PostgresServer? _postgres;
    private ReferenceNotarySigner? _signer;
    private ReferenceNotaryServer? _server;

    public string ServerDatabase { get; private set; } = string.Empty;

    public string SignerDatabase { get; private set; } = string.Empty;

    public ReferenceNotaryServer Server => _server!;

    /// <summary>The client (trust directory) that made every repository but the re-created one.</summary>
    public NotaryCli Client { get; private set; } = null!;

    /// <summary>The client that re-created <see cref="Recreated"/>.</summary>
    public NotaryCli RecreatingClient { get; private set; } = null!;

    public string Plain { get; } = "example.com/import/plain";

    public string ServerSnapshot { get; } = "example.com/import/server-snapshot";

    public string Delegated { get; } = "example.com/import/delegated";

    public string RootRotated { get; } = "example.com/import/root-rotated";

    public string Recreated { get; } = "example.com/import/recreated";

    public string Deleted { get; } = "example.com/import/deleted";

    public string Late { get; } = "example.com/import/late";

    /// <summary>A file to publish.</summary>
    public string Payload { get; private set; } = string.Empty;

    /// <summary>The delegation key's files for targets/releases (imported into <see cref="Client"/>).</summary>
    public string DelegationKeyDirectory => _directory.Path;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("NOTARY_SIGNER_" + Alias.ToUpperInvariant(), Passphrase);
        _postgres = await PostgresServer.GetAsync();
        ServerDatabase = _postgres.GetConnectionString(await _postgres.CreateDatabaseAsync("notaryserver"));
        SignerDatabase = _postgres.GetConnectionString(await _postgres.CreateDatabaseAsync("notarysigner"));
        await NotaryServerSchema.CreateServerTablesAsync(TestProvider.Postgres, ServerDatabase);
        await NotaryServerSchema.CreateSignerTablesAsync(TestProvider.Postgres, SignerDatabase);

        var ca = Own(TestCertificates.CreateCertificateAuthority());
        var certificate = Own(TestCertificates.CreateTlsServer(ca));
        var caPath = ca.WriteCertificatePem(_directory.Combine("ca.pem"));
        _signer = await ReferenceNotarySigner.StartAsync(new ReferenceNotarySignerOptions
        {
            ConnectionString = SignerDatabase, ServerCertificate = certificate, DefaultAlias = Alias, Passphrase = Passphrase,
        });
        _server = await ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions
        {
            StorageBackend = "postgres",
            StorageDbUrl = NotaryServerSchema.NotaryDbUrl(TestProvider.Postgres, ServerDatabase),
            TrustServiceType = "remote",
            KeyAlgorithm = "ecdsa",
            TrustServiceHostname = "localhost",
            TrustServicePort = _signer.Port,
            TrustServiceTlsCaFile = caPath,
        });

        Payload = _directory.Combine("payload.txt");
        await File.WriteAllTextAsync(Payload, "imported bits\n");
        Client = Own(new NotaryCli(_server.Url));
        RecreatingClient = Own(new NotaryCli(_server.Url));
        await PopulateAsync();
    }

    private async Task PopulateAsync()
    {
        var c = Client;
        await c.RunCheckedAsync(["init", Plain, "-p"]);
        for (var i = 1; i <= 3; i++)
        {
            await c.RunCheckedAsync(["add", Plain, $"v{i}", Payload, "-p"]);
        }

        await c.RunCheckedAsync(["init", ServerSnapshot, "-p"]);
        await c.RunCheckedAsync(["key", "rotate", ServerSnapshot, "snapshot", "-r"]);
        await c.RunCheckedAsync(["add", ServerSnapshot, "s1", Payload, "-p"]);

        using var releases = TestCertificates.Create(new TestCertificateOptions { CommonName = "targets/releases" });
        var (releasesCrt, releasesKey) = releases.WriteFiles(_directory.Path, "releases");
        await c.RunCheckedAsync(["init", Delegated, "-p"]);
        await c.RunCheckedAsync(["key", "import", releasesKey, "--role", "targets/releases"]);
        await c.RunCheckedAsync(["delegation", "add", Delegated, "targets/releases", releasesCrt, "--paths", "releases/", "-p"]);
        await c.RunCheckedAsync(["add", Delegated, "releases/v1", Payload, "--roles", "targets/releases", "-p"]);

        await c.RunCheckedAsync(["init", RootRotated, "-p"]);
        await c.RunCheckedAsync(["key", "rotate", RootRotated, "root"], stdin: "yes\n");
        await c.RunCheckedAsync(["add", RootRotated, "r1", Payload, "-p"]);

        await c.RunCheckedAsync(["init", Recreated, "-p"]);
        await c.RunCheckedAsync(["add", Recreated, "old", Payload, "-p"]);
        await c.RunCheckedAsync(["delete", Recreated, "--remote"]);
        await RecreatingClient.RunCheckedAsync(["init", Recreated, "-p"]);
        await RecreatingClient.RunCheckedAsync(["add", Recreated, "new", Payload, "-p"]);

        await c.RunCheckedAsync(["init", Deleted, "-p"]);
        await c.RunCheckedAsync(["delete", Deleted, "--remote"]);

        await c.RunCheckedAsync(["init", Late, "-p"]);
    }

    /// <summary>A fresh, empty PostgreSQL database (dropped with the fixture's server at process end).</summary>
    public async Task<string> NewDatabaseAsync(string prefix) => _postgres!.GetConnectionString(await _postgres.CreateDatabaseAsync(prefix));

    /// <summary>Every (id, gun, role, version, data) row of the source's <c>tuf_files</c>.</summary>
    public async Task<List<(long Id, string Gun, string Role, long Version, byte[] Data)>> SourceFilesAsync()
    {
        await using var connection = new NpgsqlConnection(ServerDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, gun, role, version, data FROM tuf_files ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(long, string, string, long, byte[])>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), (byte[])reader[4]));
        }

        return rows;
    }

    /// <summary>Runs <c>import …</c> in-process; returns the exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunImportAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await ImportCommand.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_signer is not null)
        {
            await _signer.DisposeAsync();
        }

        _owned.ForEach(d => d.Dispose());
        _directory.Dispose();
    }
}

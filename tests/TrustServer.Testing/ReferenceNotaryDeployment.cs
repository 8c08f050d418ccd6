using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TrustServer.Testing;

/// <summary>How a repository of a <see cref="ReferenceNotaryDeployment"/> was made by the real notary client.</summary>
public enum NotaryScenario
{
    /// <summary><c>init --publish</c>, then three targets added and published together, then a fourth published alone.</summary>
    Plain,

    /// <summary>
    /// Snapshot key rotated to the server (<c>key rotate snapshot -r</c>, so that a delegate can publish), delegation
    /// <c>targets/releases</c> added with <c>--paths release/</c> for a certificate whose key a second client (the
    /// delegate, <see cref="NotaryScenarioRepository.DelegateClient"/>) imports (<c>key import --role</c>); the delegate
    /// publishes two targets under <c>release/</c>, the owner one top-level target.
    /// </summary>
    Delegations,

    /// <summary><c>init --publish</c>, <c>key rotate &lt;gun&gt; snapshot -r</c> (the server holds the snapshot key from
    /// then on), then two publishes whose snapshots the server signs.</summary>
    SnapshotOnServer,

    /// <summary><c>init --publish</c>, a publish, <c>key rotate &lt;gun&gt; root</c> (root version 2 signed by the old
    /// and the new root key), then another publish.</summary>
    RotatedRoot,

    /// <summary><c>init --publish</c>, a publish, <c>delete --remote</c> (a <c>deletion</c> changefeed row), then
    /// <c>init --publish</c> again with the same trust directory and one more publish: versions start at 1 again.</summary>
    DeletedAndRecreated,

    /// <summary><c>init --publish</c> and then one publish per version, one new target each, up to
    /// <see cref="ReferenceNotaryDeploymentOptions.ManyVersionsCount"/> publishes in all.</summary>
    ManyVersions,
}

/// <summary>Settings for <see cref="ReferenceNotaryDeployment"/>.</summary>
public sealed class ReferenceNotaryDeploymentOptions
{
    /// <summary>The backend both notary-server and notary-signer store in (each in its own database).</summary>
    public NotaryDatabaseProvider Provider { get; init; } = NotaryDatabaseProvider.Postgres;

    /// <summary>Which repositories to make (one per scenario); all by default.</summary>
    public IReadOnlyCollection<NotaryScenario> Scenarios { get; init; } = Enum.GetValues<NotaryScenario>();

    /// <summary>
    /// Publishes (so timestamp, snapshot and targets versions) of the <see cref="NotaryScenario.ManyVersions"/> repository
    /// (300). They run one after the other, one <c>notary add --publish</c> process each (about 75 ms of client CPU plus
    /// the server's and signer's work): 300 took 60 s with the machine's 2 cores shared by other loads, and set the
    /// deployment's population time. Share one deployment per test run (xunit collection fixture).
    /// </summary>
    public int ManyVersionsCount { get; init; } = 300;

    /// <summary>GUNs are <c>&lt;prefix&gt;/&lt;scenario in kebab case&gt;</c>, e.g. <c>example.com/import/rotated-root</c>.</summary>
    public string GunPrefix { get; init; } = "example.com/import";

    /// <summary>Serve HTTPS (certificate for <c>localhost</c>/127.0.0.1 from <see cref="ReferenceNotaryDeployment.CaFile"/>)
    /// instead of plain HTTP; the clients trust that CA.</summary>
    public bool UseTls { get; init; }

    /// <summary>Last-chance edit of notary-server's config JSON (see <see cref="ReferenceNotaryServerOptions.ConfigureJson"/>);
    /// population runs through it, so it must not lock the clients out (e.g. no <c>auth</c> section).</summary>
    public Action<System.Text.Json.Nodes.JsonObject>? ConfigureServerJson { get; init; }
}

/// <summary>One repository made by a scenario, and the clients that made it.</summary>
public sealed class NotaryScenarioRepository
{
    internal NotaryScenarioRepository(NotaryScenario scenario, string gun, NotaryCli client)
    {
        Scenario = scenario;
        Gun = gun;
        Client = client;
    }

    /// <summary>The scenario.</summary>
    public NotaryScenario Scenario { get; }

    /// <summary>The repository's GUN.</summary>
    public string Gun { get; }

    /// <summary>
    /// The owner's client (own trust directory with root, targets and, unless rotated to the server, snapshot keys, and
    /// the metadata cached from the server; passphrase <see cref="NotaryCli.DefaultPassphrase"/> for every role). To
    /// carry on against another server pass <c>-s &lt;url&gt;</c>, e.g. <c>Client.RunAsync(["-s", url, "list", Gun])</c>.
    /// </summary>
    public NotaryCli Client { get; }

    /// <summary>For <see cref="NotaryScenario.Delegations"/>: the delegate's client holding only the
    /// <see cref="DelegationRole"/> key (imported, passphrase <see cref="NotaryCli.DefaultPassphrase"/>); null otherwise.</summary>
    public NotaryCli? DelegateClient { get; internal set; }

    /// <summary>For <see cref="NotaryScenario.Delegations"/>: <c>targets/releases</c>; null otherwise.</summary>
    public string? DelegationRole { get; internal set; }

    /// <summary>For <see cref="NotaryScenario.Delegations"/>: the delegation's one path prefix, <c>release/</c>.</summary>
    public string? DelegationPath { get; internal set; }

    /// <summary>Target names the repository currently lists, with the SHA-256 (lowercase hex) of their content.</summary>
    public IReadOnlyDictionary<string, string> Targets => _targets;

    /// <summary>Successful publishes since the repository was (re)created (each one a new timestamp version). Key
    /// rotations that publish by themselves (<c>snapshot -r</c>, <c>root</c>) are counted.</summary>
    public int Publishes { get; internal set; }

    /// <summary>How long the scenario took (they run in parallel: see <see cref="ReferenceNotaryDeployment.PopulationTime"/>).</summary>
    public TimeSpan PopulationTime { get; internal set; }

    internal Dictionary<string, string> TargetsInternal => _targets;

    private readonly Dictionary<string, string> _targets = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => $"{Scenario} {Gun}";
}

/// <summary>
/// A real notary-server and notary-signer 0.7.0 (<see cref="ReferenceNotaryServer"/>, <see cref="ReferenceNotarySigner"/>)
/// storing in PostgreSQL or MariaDB — each in its own database with the schema of notary's migrations
/// (<see cref="NotaryServerSchema"/>) — populated through the real notary client by the chosen
/// <see cref="NotaryScenario"/>s: the source of data for import tests. The server speaks plain HTTP (or HTTPS); the
/// signer gRPC over TLS (test CA in <see cref="CaFile"/>), keys under alias <see cref="SignerAlias"/>. Dispose to kill both
/// and drop the databases (and the private MariaDB server).
/// </summary>
/// <example>
/// <code>
/// await using var notary = await ReferenceNotaryDeployment.StartAsync(new() { Provider = NotaryDatabaseProvider.MySql });
/// var repository = notary.Repository(NotaryScenario.RotatedRoot);
/// // import notary.ServerDatabaseConnectionString (notary.Provider) into TrustServer at url, then:
/// await repository.Client.RunCheckedAsync(["-s", url, "list", repository.Gun]);
/// </code>
/// </example>
public sealed class ReferenceNotaryDeployment : IAsyncDisposable
{
    /// <summary>Passphrase alias of the signer's keys (<c>storage.default_alias</c>).</summary>
    public const string SignerAlias = "timestamp_1";

    /// <summary>Passphrase of <see cref="SignerAlias"/>.</summary>
    public const string SignerPassphrase = "reference-notary-signer-passphrase";

    /// <summary>The environment variable notary-signer reads the passphrase of <see cref="SignerAlias"/> from.</summary>
    public const string SignerPassphraseVariable = "NOTARY_SIGNER_TIMESTAMP_1";

    private readonly TemporaryDirectory _directory = new("notary-deployment");
    private readonly List<NotaryScenarioRepository> _repositories = [];
    private readonly List<Func<Task>> _cleanups = [];
    private TestCertificate? _ca;
    private TestCertificate? _signerCertificate;
    private TestCertificate? _serverCertificate;

    private ReferenceNotaryDeployment(ReferenceNotaryDeploymentOptions options) => Options = options;

    /// <summary>The options it was started with.</summary>
    public ReferenceNotaryDeploymentOptions Options { get; }

    /// <summary>The backend of both databases.</summary>
    public NotaryDatabaseProvider Provider => Options.Provider;

    /// <summary>The notary-server base URL (<c>http://127.0.0.1:port</c>, or https with <see cref="ReferenceNotaryDeploymentOptions.UseTls"/>).</summary>
    public string ServerUrl => Server.Url;

    /// <summary>The running notary-server (remote trust service = <see cref="Signer"/>, key algorithm ecdsa).</summary>
    public ReferenceNotaryServer Server { get; private set; } = null!;

    /// <summary>The running notary-signer.</summary>
    public ReferenceNotarySigner Signer { get; private set; } = null!;

    /// <summary>PEM of the test CA that issued the signer's TLS certificate and, with
    /// <see cref="ReferenceNotaryDeploymentOptions.UseTls"/>, the server's (both for <c>localhost</c> and 127.0.0.1).</summary>
    public string CaFile { get; private set; } = null!;

    /// <summary>Npgsql or MySqlConnector (per <see cref="Provider"/>) connection string of notary-server's database.</summary>
    public string ServerDatabaseConnectionString { get; private set; } = null!;

    /// <summary>Npgsql or MySqlConnector (per <see cref="Provider"/>) connection string of notary-signer's database.</summary>
    public string SignerDatabaseConnectionString { get; private set; } = null!;

    /// <summary>The private MariaDB server for <see cref="NotaryDatabaseProvider.MySql"/>; null on PostgreSQL (the
    /// process-wide <see cref="PostgresServer"/> is used).</summary>
    public LocalMariaDbServer? MariaDb { get; private set; }

    /// <summary>The repositories, in the order of <see cref="ReferenceNotaryDeploymentOptions.Scenarios"/>.</summary>
    public IReadOnlyList<NotaryScenarioRepository> Repositories => _repositories;

    /// <summary>How long populating all scenarios took.</summary>
    public TimeSpan PopulationTime { get; private set; }

    /// <summary>The repository a scenario made.</summary>
    /// <param name="scenario">The scenario.</param>
    /// <returns>Its repository.</returns>
    /// <exception cref="InvalidOperationException">The scenario was not among the options' scenarios.</exception>
    public NotaryScenarioRepository Repository(NotaryScenario scenario) =>
        _repositories.FirstOrDefault(r => r.Scenario == scenario)
        ?? throw new InvalidOperationException($"Scenario {scenario} was not populated in this deployment.");

    /// <summary>The GUN a scenario uses under a prefix.</summary>
    /// <param name="gunPrefix">The prefix.</param>
    /// <param name="scenario">The scenario.</param>
    /// <returns>E.g. <c>example.com/import/deleted-and-recreated</c>.</returns>
    public static string GunFor(string gunPrefix, NotaryScenario scenario) =>
        $"{gunPrefix}/{string.Concat(scenario.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()))}";

    /// <summary>Creates the databases, starts signer and server, and populates the scenarios.</summary>
    /// <param name="options">Provider, scenarios and sizes; defaults when null.</param>
    /// <param name="cancellationToken">Cancels start-up and population.</param>
    /// <returns>The populated deployment; dispose it.</returns>
    public static async Task<ReferenceNotaryDeployment> StartAsync(ReferenceNotaryDeploymentOptions? options = null, CancellationToken cancellationToken = default)
    {
        var deployment = new ReferenceNotaryDeployment(options ?? new ReferenceNotaryDeploymentOptions());
        try
        {
            await deployment.CreateDatabasesAsync(cancellationToken).ConfigureAwait(false);
            await deployment.StartProcessesAsync(cancellationToken).ConfigureAwait(false);
            var stopwatch = Stopwatch.StartNew();
            await deployment.PopulateAsync(cancellationToken).ConfigureAwait(false);
            deployment.PopulationTime = stopwatch.Elapsed;
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Kills server and signer, drops the databases, deletes clients and files.</summary>
    /// <returns>A task that completes when everything is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        for (var i = _cleanups.Count - 1; i >= 0; i--)
        {
            try
            {
                await _cleanups[i]().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Best-effort teardown: one failing step must not leak the others.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        _cleanups.Clear();
        _signerCertificate?.Dispose();
        _serverCertificate?.Dispose();
        _ca?.Dispose();
        _directory.Dispose();
    }

    private async Task CreateDatabasesAsync(CancellationToken cancellationToken)
    {
        if (Provider == NotaryDatabaseProvider.Postgres)
        {
            var postgres = await PostgresServer.GetAsync().ConfigureAwait(false);
            foreach (var (prefix, server) in new[] { ("notaryserver", true), ("notarysigner", false) })
            {
                var name = await postgres.CreateDatabaseAsync(prefix, cancellationToken).ConfigureAwait(false);
                _cleanups.Add(() => postgres.DropDatabaseAsync(name));
                if (server)
                {
                    ServerDatabaseConnectionString = postgres.GetConnectionString(name);
                }
                else
                {
                    SignerDatabaseConnectionString = postgres.GetConnectionString(name);
                }
            }
        }
        else
        {
            var mariadb = MariaDb = await LocalMariaDbServer.StartAsync(cancellationToken).ConfigureAwait(false);
            _cleanups.Add(() => mariadb.DisposeAsync().AsTask());
            ServerDatabaseConnectionString = (await mariadb.CreateDatabaseAsync("notaryserver", cancellationToken).ConfigureAwait(false)).ConnectionString;
            SignerDatabaseConnectionString = (await mariadb.CreateDatabaseAsync("notarysigner", cancellationToken).ConfigureAwait(false)).ConnectionString;
        }

        await NotaryServerSchema.CreateServerTablesAsync(Provider, ServerDatabaseConnectionString, cancellationToken).ConfigureAwait(false);
        await NotaryServerSchema.CreateSignerTablesAsync(Provider, SignerDatabaseConnectionString, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartProcessesAsync(CancellationToken cancellationToken)
    {
        _ca = TestCertificates.CreateCertificateAuthority();
        _signerCertificate = TestCertificates.CreateTlsServer(_ca);
        CaFile = _ca.WriteCertificatePem(_directory.Combine("ca.pem"));

        var signer = Signer = await ReferenceNotarySigner.StartAsync(new ReferenceNotarySignerOptions
        {
            ServerCertificate = _signerCertificate,
            ConnectionString = SignerDatabaseConnectionString,
            Provider = Provider,
            DefaultAlias = SignerAlias,
            Passphrase = SignerPassphrase,
        }).ConfigureAwait(false);
        _cleanups.Add(() => signer.DisposeAsync().AsTask());

        string? certificateFile = null, keyFile = null;
        if (Options.UseTls)
        {
            _serverCertificate = TestCertificates.CreateTlsServer(_ca);
            (certificateFile, keyFile) = _serverCertificate.WriteFiles(_directory.Path, "server");
        }

        var server = Server = await ReferenceNotaryServer.StartAsync(
            new ReferenceNotaryServerOptions
            {
                TlsCertFile = certificateFile,
                TlsKeyFile = keyFile,
                ConfigureJson = Options.ConfigureServerJson,
                StorageBackend = NotaryServerSchema.BackendName(Provider),
                StorageDbUrl = NotaryServerSchema.NotaryDbUrl(Provider, ServerDatabaseConnectionString),
                TrustServiceType = "remote",
                KeyAlgorithm = "ecdsa",
                TrustServiceHostname = "localhost",
                TrustServicePort = signer.Port,
                TrustServiceTlsCaFile = CaFile,

                // notary writes its timestamps as local wall-clock time (spec config-and-ops.md §5): run it in UTC.
                EnvironmentVariables = new Dictionary<string, string> { ["TZ"] = "UTC" },
            },
            cancellationToken).ConfigureAwait(false);
        _cleanups.Add(() => server.DisposeAsync().AsTask());
    }

    private async Task PopulateAsync(CancellationToken cancellationToken)
    {
        foreach (var scenario in Options.Scenarios.Distinct())
        {
            var client = NewClient();
            _repositories.Add(new NotaryScenarioRepository(scenario, GunFor(Options.GunPrefix, scenario), client));
        }

        // One scenario at a time: notary-server 0.7.0 keeps a cache of metadata in a plain Go map shared by all requests
        // (server/storage/tuf_store.go, TUFMetaStorage.cachedMeta, no lock), so concurrent clients can crash it with
        // "concurrent map writes" (seen here as a client's "fatal: EOF" in the middle of a publish).
        foreach (var repository in _repositories)
        {
            var stopwatch = Stopwatch.StartNew();
            try
            {
                await PopulateAsync(repository, cancellationToken).ConfigureAwait(false);
                repository.PopulationTime = stopwatch.Elapsed;
            }
            catch (ProcessFailedException ex)
            {
                throw new InvalidOperationException($"Populating {repository} failed: {ex.Message}\n--- notary-server log (tail) ---\n{Tail(Server.Log)}", ex);
            }
        }
    }

    /// <summary>A new client with an empty trust directory for this server (trusting <see cref="CaFile"/> under TLS),
    /// disposed with the deployment.</summary>
    /// <returns>The client.</returns>
    public NotaryCli NewClient()
    {
        var client = new NotaryCli(ServerUrl, Options.UseTls ? CaFile : null) { DefaultTimeout = TimeSpan.FromSeconds(120) };
        _cleanups.Add(() =>
        {
            client.Dispose();
            return Task.CompletedTask;
        });
        return client;
    }

    private Task PopulateAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken) => repository.Scenario switch
    {
        NotaryScenario.Plain => PlainAsync(repository, cancellationToken),
        NotaryScenario.Delegations => DelegationsAsync(repository, cancellationToken),
        NotaryScenario.SnapshotOnServer => SnapshotOnServerAsync(repository, cancellationToken),
        NotaryScenario.RotatedRoot => RotatedRootAsync(repository, cancellationToken),
        NotaryScenario.DeletedAndRecreated => DeletedAndRecreatedAsync(repository, cancellationToken),
        NotaryScenario.ManyVersions => ManyVersionsAsync(repository, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(repository), repository.Scenario, null),
    };

    private async Task PlainAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        for (var i = 1; i <= 3; i++)
        {
            await AddAsync(repository, $"v{i}", publish: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await PublishAsync(repository, cancellationToken).ConfigureAwait(false);
        await AddAsync(repository, "v4", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task DelegationsAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        const string role = "targets/releases";
        const string path = "release/";
        repository.DelegationRole = role;
        repository.DelegationPath = path;
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        await RunAsync(repository, ["key", "rotate", repository.Gun, "snapshot", "-r"], cancellationToken).ConfigureAwait(false);
        repository.Publishes++;

        using var certificate = TestCertificates.Create(new TestCertificateOptions { CommonName = role });
        var (certificatePath, keyPath) = certificate.WriteFiles(_directory.Path, $"delegate-{Guid.NewGuid():N}");
        await RunAsync(repository, ["delegation", "add", repository.Gun, role, certificatePath, "--paths", path, "--publish"], cancellationToken)
            .ConfigureAwait(false);
        repository.Publishes++;
        await AddAsync(repository, "owner-v1", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);

        var delegate_ = repository.DelegateClient = NewClient();
        (await delegate_.RunAsync(["key", "import", keyPath, "--role", role], cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        File.Delete(keyPath);
        await AddAsync(repository, path + "v1", publish: true, delegate_, role, cancellationToken).ConfigureAwait(false);
        await AddAsync(repository, path + "v2", publish: true, delegate_, role, cancellationToken).ConfigureAwait(false);
    }

    private async Task SnapshotOnServerAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        await RunAsync(repository, ["key", "rotate", repository.Gun, "snapshot", "-r"], cancellationToken).ConfigureAwait(false);
        repository.Publishes++;
        await AddAsync(repository, "v1", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        await AddAsync(repository, "v2", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task RotatedRootAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        await AddAsync(repository, "v1", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        (await repository.Client.RunAsync(["key", "rotate", repository.Gun, "root"], stdin: "yes\n", cancellationToken: cancellationToken).ConfigureAwait(false))
            .EnsureSuccess();
        repository.Publishes++;
        await AddAsync(repository, "v2", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task DeletedAndRecreatedAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        await AddAsync(repository, "before-delete", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
        await RunAsync(repository, ["delete", repository.Gun, "--remote"], cancellationToken).ConfigureAwait(false);
        repository.TargetsInternal.Clear();
        repository.Publishes = 0;
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        await AddAsync(repository, "after-recreate", publish: true, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task ManyVersionsAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await InitAsync(repository, cancellationToken).ConfigureAwait(false);
        while (repository.Publishes < Options.ManyVersionsCount)
        {
            await AddAsync(
                repository,
                $"t{(repository.Publishes + 1).ToString("D4", CultureInfo.InvariantCulture)}",
                publish: true,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task InitAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await RunAsync(repository, ["init", repository.Gun, "--publish"], cancellationToken).ConfigureAwait(false);
        repository.Publishes++;
    }

    private async Task PublishAsync(NotaryScenarioRepository repository, CancellationToken cancellationToken)
    {
        await RunAsync(repository, ["publish", repository.Gun], cancellationToken).ConfigureAwait(false);
        repository.Publishes++;
    }

    /// <summary>Adds a target whose content names the repository and target (so every target's hash differs).</summary>
    private async Task AddAsync(
        NotaryScenarioRepository repository,
        string target,
        bool publish,
        NotaryCli? client = null,
        string? role = null,
        CancellationToken cancellationToken = default)
    {
        var content = Encoding.UTF8.GetBytes($"{repository.Gun} {target}\n");
        var file = _directory.Combine($"payload-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, content, cancellationToken).ConfigureAwait(false);
        List<string> arguments = ["add", repository.Gun, target, file];
        if (role is not null)
        {
            arguments.AddRange(["--roles", role]);
        }

        if (publish)
        {
            arguments.Add("--publish");
        }

        (await (client ?? repository.Client).RunAsync(arguments, cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        File.Delete(file);
        repository.TargetsInternal[target] = Convert.ToHexStringLower(SHA256.HashData(content));
        if (publish)
        {
            repository.Publishes++;
        }
    }

    private static async Task RunAsync(NotaryScenarioRepository repository, string[] arguments, CancellationToken cancellationToken) =>
        (await repository.Client.RunAsync(arguments, cancellationToken: cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    private static string Tail(string log) => log.Length <= 4000 ? log : log[^4000..];
}

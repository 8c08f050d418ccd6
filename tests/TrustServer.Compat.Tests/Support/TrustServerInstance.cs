using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Server;
using TrustServer.Server.Hosting;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Support;

/// <summary>Which database a server instance uses.</summary>
public abstract record ServerStorage
{
    /// <summary>The configuration entries selecting it.</summary>
    public abstract IEnumerable<KeyValuePair<string, string?>> Settings { get; }

    /// <summary>A PostgreSQL database (a throwaway one from <see cref="PostgresDatabaseFixture"/>).</summary>
    public sealed record Postgres(string ConnectionString) : ServerStorage
    {
        /// <inheritdoc/>
        public override IEnumerable<KeyValuePair<string, string?>> Settings =>
            [new("Storage:Provider", "Postgres"), new("ConnectionStrings:Metadata", ConnectionString)];

        /// <inheritdoc/>
        public override string ToString() => "PostgreSQL";
    }

    /// <summary>The embedded default: an SQLite file.</summary>
    public sealed record Sqlite(string File) : ServerStorage
    {
        /// <inheritdoc/>
        public override IEnumerable<KeyValuePair<string, string?>> Settings =>
            [new("Storage:Provider", "Sqlite"), new("ConnectionStrings:Metadata", $"Data Source={File}")];

        /// <inheritdoc/>
        public override string ToString() => "SQLite";
    }
}

/// <summary>
/// A real TrustServer (Kestrel on a free 127.0.0.1 port, real database, embedded signer) started in-process
/// exactly as <c>Program</c> builds it, with test configuration on top.
/// </summary>
public sealed class TrustServerInstance : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TemporaryDirectory _directory;

    private TrustServerInstance(WebApplication app, TemporaryDirectory directory, string url)
    {
        _app = app;
        _directory = directory;
        Url = url;
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; }

    /// <summary>A client for raw HTTP checks.</summary>
    public HttpClient Http { get; }

    /// <summary>The server's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a server. <paramref name="settings"/> override configuration; <paramref name="configure"/> may replace services.
    /// With <paramref name="https"/> it listens on <c>https://</c> (the settings must name <c>Kestrel:Certificates:Default:*</c>;
    /// <see cref="Http"/> then does not trust the certificate unless the test's CA is the system's).
    /// </summary>
    public static async Task<TrustServerInstance> StartAsync(
        ServerStorage storage,
        IEnumerable<KeyValuePair<string, string?>>? settings = null,
        Action<IServiceCollection>? configure = null,
        string? passphraseFile = null,
        bool https = false)
    {
        var directory = new TemporaryDirectory("trustserver-instance");
        var configuration = new List<KeyValuePair<string, string?>>(storage.Settings)
        {
            new("Signing:PassphraseFile", passphraseFile ?? directory.Combine("signing-passphrase")),
            new("Serilog:MinimumLevel:Default", "Warning"),
        };
        configuration.AddRange(settings ?? []);
        // Its own content root: no appsettings.json of the test's output directory (the signer's lands there too) applies.
        var app = TrustServerHost.Build(["--urls", https ? "https://127.0.0.1:0" : "http://127.0.0.1:0", "--contentRoot", directory.Path], configuration, configure);
        try
        {
            await app.PrepareDatabasesAsync(CancellationToken.None);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            directory.Dispose();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var instance = new TrustServerInstance(app, directory, address);

        // The first request of a fresh host compiles the request pipeline; on a loaded machine that can outlast the
        // notary client's own short timeout for its first call (GET /v2/, "client is offline"). Tests are about what
        // the server answers, not its cold start: take that first request here, with the patient client.
        // (Any certificate: this request only warms the host up, its answer is not looked at.)
        using (var warmUpHandler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
        using (var warmUp = new HttpClient(warmUpHandler) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(120) })
        using (await warmUp.GetAsync("/v2/"))
        {
        }

        return instance;
    }

    /// <summary>A notary client with a fresh trust directory pointed at this server.</summary>
    public NotaryCli NewClient() => new(Url);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _directory.Dispose();
    }
}

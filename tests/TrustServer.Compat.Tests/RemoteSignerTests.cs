using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Remote;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Our server with <c>Signing:Mode=Remote</c> over mutual TLS against the real notary-signer 0.7.0 and against our
/// signer (all on PostgreSQL), driven by the real notary client: publishing, server key rotations, a signer outage,
/// and the two signers swapped over one key database.
/// </summary>
public sealed class RemoteSignerTests : IAsyncLifetime
{
    private const string Alias = "timestamp_1";
    private const string Passphrase = "remote-signer-test-passphrase";

    private readonly PostgresDatabaseFixture _metadata = new();
    private readonly PostgresDatabaseFixture _keys = new();
    private readonly TemporaryDirectory _directory = new("remote-signer");
    private TestCertificate? _ca;
    private TestCertificate? _signerCertificate;
    private ReferenceNotarySigner? _signer;
    private TrustServerInstance? _server;
    private string? _signerCertFile;
    private string? _signerKeyFile;
    private string? _clientCertFile;
    private string? _clientKeyFile;
    private string? _caFile;
    private List<KeyValuePair<string, string?>> _remoteSettings = [];

    private TrustServerInstance Server => _server!;

    public async Task InitializeAsync()
    {
        await _metadata.InitializeAsync();
        await _keys.InitializeAsync();

        // notary-signer needs its private_keys table; our key store's migration creates notary's schema.
        var store = new KeyStore(StorageProvider.Postgres, _keys.ConnectionString, Alias, new StaticPassphraseSource([new(Alias, Passphrase)]));
        await store.MigrateAsync(CancellationToken.None);

        _ca = TestCertificates.CreateCertificateAuthority();
        _signerCertificate = TestCertificates.CreateTlsServer(_ca);
        (_signerCertFile, _signerKeyFile) = _signerCertificate.WriteFiles(_directory.Path, "our-signer");
        using var client = TestCertificates.CreateTlsClient(_ca, "trustserver-server");
        var caFile = _caFile = _ca.WriteCertificatePem(_directory.Combine("ca.pem"));
        var (clientCert, clientKey) = client.WriteFiles(_directory.Path, "server-client");
        (_clientCertFile, _clientKeyFile) = (clientCert, clientKey);
        _signer = await StartSignerAsync(port: null);

        _remoteSettings =
        [
            new("Signing:Mode", "Remote"),
            new("Signing:Remote:Url", $"https://localhost:{_signer.Port}"),
            new("Signing:Remote:CaFile", caFile),
            new("Signing:Remote:ClientCertFile", clientCert),
            new("Signing:Remote:ClientKeyFile", clientKey),
            new("Signing:Remote:CallTimeout", "00:00:05"),
            new("Signing:Remote:MaxAttempts", "2"),
        ];
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Postgres(_metadata.ConnectionString), _remoteSettings);
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

        await _metadata.DisposeAsync();
        await _keys.DisposeAsync();
        _signerCertificate?.Dispose();
        _ca?.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public Task RealNotarySigner_InitPublishRotateServerKeysDelete() => PublishRotateServerKeysDeleteAsync("example.com/remote/real-signer");

    [Fact]
    public async Task SignerStopped_ReadsWork_PublishFailsCleanly_ThenRecoversWithoutRestart()
    {
        var gun = "example.com/remote/outage";
        using var client = Server.NewClient();
        var payload = _directory.Combine("outage.txt");
        await File.WriteAllTextAsync(payload, "outage\n");
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var timestampBefore = await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json");
        var port = _signer!.Port;

        await _signer.DisposeAsync();
        _signer = null;

        // Reads of stored metadata keep working.
        Assert.Equal(HttpStatusCode.OK, (await Server.Http.GetAsync($"/v2/{gun}/_trust/tuf/root.json")).StatusCode);
        Assert.Equal(timestampBefore, await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json"));
        using (var reader = Server.NewClient())
        {
            await reader.RunCheckedAsync(["list", gun]);
        }

        // The health says why; a publish fails with a clear error and stores nothing; key endpoints too.
        var health = await Server.Http.GetAsync("/_notary_server/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("Trust operational", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(("ready", "not ready"), await ReadinessAsync());
        await client.RunCheckedAsync(["add", gun, "v1", payload]);
        var failed = await client.RunAsync(["publish", gun]);
        Assert.False(failed.Succeeded, failed.ToString());
        Assert.Equal(timestampBefore, await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json"));
        var key = await Server.Http.PostAsync($"/v2/{gun}/_trust/tuf/timestamp.key", null);
        Assert.Equal(HttpStatusCode.InternalServerError, key.StatusCode);
        Assert.Contains("the signing service is unavailable", await key.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Back on the same port: the next publish succeeds with the same server process.
        _signer = await StartSignerAsync(port);
        await client.RunCheckedAsync(["publish", gun]);
        Assert.Contains("v1", (await client.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
        await AssertHealthyAsync();
        Assert.Equal(("ready", "ready"), await ReadinessAsync());
    }

    // The background re-signer through the remote signer, 1-minute drill timestamps renewed 6 s after signing: while
    // the signer is down the due repository is at risk and readiness says so; once it is back, it is renewed.
    [Fact]
    public async Task SignerStoppedWhileRenewalsAreDue_ReadinessDegradedWithTheCount_ThenRenewedWhenItIsBack()
    {
        var metadata = new PostgresDatabaseFixture();
        await metadata.InitializeAsync();
        try
        {
            await RenewThroughAnOutageAsync(metadata);
        }
        finally
        {
            await metadata.DisposeAsync();
        }
    }

    private async Task RenewThroughAnOutageAsync(PostgresDatabaseFixture metadata)
    {
        await using var server = await TrustServerInstance.StartAsync(
            new ServerStorage.Postgres(metadata.ConnectionString),
            [.. _remoteSettings, new("Signing:Lifetimes:Timestamp", "00:01:00"), new("Signing:Lifetimes:RenewWhenRemaining", "0.9")]);
        var gun = "example.com/remote/resigner";
        using var client = server.NewClient();
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var store = server.Services.GetRequiredService<IMetadataStore>();
        await EventuallyAsync(TimeSpan.FromSeconds(30), async () => (await store.GetLatestAsync(gun, "timestamp"))!.Version >= 2);
        var port = _signer!.Port;

        await _signer.DisposeAsync();
        _signer = null;

        await EventuallyAsync(TimeSpan.FromSeconds(60), async () => (await ReadinessAsync(server)).Reads == "degraded");
        var (_, writes, atRisk, renewals) = await ReadinessAsync(server);
        Assert.Equal("not ready", writes);
        Assert.Equal(1, atRisk);
        Assert.StartsWith("1 repositories due for re-signing could not be renewed", renewals, StringComparison.Ordinal);
        var stuck = (await store.GetLatestAsync(gun, "timestamp"))!.Version;

        _signer = await StartSignerAsync(port);
        await EventuallyAsync(TimeSpan.FromSeconds(90), async () => (await store.GetLatestAsync(gun, "timestamp"))!.Version > stuck);
        await EventuallyAsync(TimeSpan.FromSeconds(10), async () => await ReadinessAsync(server) is ("ready", "ready", 0, "ok"));
        using var reader = server.NewClient();
        await reader.RunCheckedAsync(["list", gun]);
    }

    private static async Task<(string Reads, string Writes, int AtRisk, string Renewals)> ReadinessAsync(TrustServerInstance server)
    {
        var response = await server.Http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("reads").GetString()!, body.GetProperty("writes").GetString()!,
            body.GetProperty("repositoriesAtRisk").GetInt32(), body.GetProperty("checks").GetProperty("renewals").GetString()!);
    }

    private static async Task EventuallyAsync(TimeSpan bound, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached within {bound}");
            await Task.Delay(250);
        }
    }

    // /healthz/ready answers 200 while reads work and says separately whether writes do.
    private async Task<(string Reads, string Writes)> ReadinessAsync()
    {
        var response = await Server.Http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("reads").GetString()!, body.GetProperty("writes").GetString()!);
    }

    [Fact]
    public async Task OurSigner_InitPublishRotateServerKeysDelete()
    {
        var port = await StopReferenceSignerAsync();
        await using var ours = await StartOurSignerAsync(port);
        await PublishRotateServerKeysDeleteAsync("example.com/remote/our-signer");
    }

    // init, publish, server snapshot and timestamp key rotations, a second client, delete — through whichever
    // signer listens; the server keys end up in the shared key table either way.
    private async Task PublishRotateServerKeysDeleteAsync(string gun)
    {
        using var client = Server.NewClient();
        var payload = _directory.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "signed by the server's signer\n");

        await client.RunCheckedAsync(["init", gun, "--publish"]);
        await client.RunCheckedAsync(["add", gun, "v1", payload, "-p"]);
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await client.RunCheckedAsync(["add", gun, "v2", payload, "-p"]);
        await client.RunCheckedAsync(["key", "rotate", gun, "timestamp", "-r"]);
        await client.RunCheckedAsync(["add", gun, "v3", payload, "-p"]);

        using var other = Server.NewClient();
        var list = (await other.RunCheckedAsync(["list", gun])).StandardOutput;
        Assert.Contains("v1", list, StringComparison.Ordinal);
        Assert.Contains("v3", list, StringComparison.Ordinal);
        await AssertHealthyAsync();

        var root = JsonDocument.Parse(await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/root.json")).RootElement.GetProperty("signed");
        var timestampKey = root.GetProperty("roles").GetProperty("timestamp").GetProperty("keyids")[0].GetString()!;
        var store = new KeyStore(StorageProvider.Postgres, _keys.ConnectionString, Alias, new StaticPassphraseSource([new(Alias, Passphrase)]));
        Assert.NotNull(await store.GetKeyInfoAsync(timestampKey, CancellationToken.None));

        await client.RunCheckedAsync(["delete", gun, "--remote"]);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Http.GetAsync($"/v2/{gun}/_trust/tuf/root.json")).StatusCode);
    }

    [Fact]
    public async Task SignersSwappedOverOneKeyDatabase_EachUsesTheOthersKeys()
    {
        var gun = "example.com/remote/swap";
        using var client = Server.NewClient();
        var payload = _directory.Combine("swap.txt");
        await File.WriteAllTextAsync(payload, "swap\n");

        // notary-signer creates the timestamp key; our signer then signs with it.
        await client.RunCheckedAsync(["init", gun, "--publish"]);
        var notarySignerKey = await TimestampKeyIdAsync(gun);
        var port = await StopReferenceSignerAsync();
        await using (var ours = await StartOurSignerAsync(port))
        {
            await client.RunCheckedAsync(["add", gun, "by-ours", payload, "-p"]);
            Assert.Equal([notarySignerKey], await TimestampSignersAsync(gun));

            // Our signer creates the next timestamp key.
            await client.RunCheckedAsync(["key", "rotate", gun, "timestamp", "-r"]);
            await client.RunCheckedAsync(["add", gun, "by-ours-2", payload, "-p"]);
        }

        var ourKey = await TimestampKeyIdAsync(gun);
        Assert.NotEqual(notarySignerKey, ourKey);

        // notary-signer signs with the key ours wrote.
        _signer = await StartSignerAsync(port);
        await client.RunCheckedAsync(["add", gun, "by-notary-signer", payload, "-p"]);
        Assert.Equal([ourKey], await TimestampSignersAsync(gun));
        using var other = Server.NewClient();
        var list = (await other.RunCheckedAsync(["list", gun])).StandardOutput;
        Assert.Contains("by-ours-2", list, StringComparison.Ordinal);
        Assert.Contains("by-notary-signer", list, StringComparison.Ordinal);
    }

    private async Task<int> StopReferenceSignerAsync()
    {
        var port = _signer!.Port;
        await _signer.DisposeAsync();
        _signer = null;
        return port;
    }

    // Our signer on the port the server dials, same certificate, client CA and key database as notary-signer.
    private async Task<OurSigner> StartOurSignerAsync(int port)
    {
        var contentRoot = new TemporaryDirectory("our-signer-root");
        var app = TrustServer.Signer.SignerHost.Build(
            ["--urls", $"https://127.0.0.1:{port}", "--contentRoot", contentRoot.Path],
            [
                new("Tls:CertFile", _signerCertFile), new("Tls:KeyFile", _signerKeyFile), new("Tls:ClientCaFile", _caFile),
                new("Storage:Provider", "Postgres"), new("ConnectionStrings:Keys", _keys.ConnectionString),
                new("Keys:DefaultAlias", Alias), new("Logging:LogLevel:Default", "Warning"),
            ],
            services => services.AddSingleton<IPassphraseSource>(new StaticPassphraseSource([new(Alias, Passphrase)])));
        await TrustServer.Signer.Hosting.KeyStoreHostingExtensions.PrepareKeyDatabaseAsync(app, CancellationToken.None);
        await app.StartAsync();
        var signer = new OurSigner(app, contentRoot);
        await WarmUpAsync(port);
        return signer;
    }

    // A signer that has just started in this process is cold (JIT, its first database connection, its first key):
    // on a loaded machine its first call can outlast the short deadline the server has in these tests, which are
    // about which signer signs, not about a cold start. A patient client of its own makes that first call.
    private async Task WarmUpAsync(int port)
    {
        using var patient = new RemoteSigningService(
            new RemoteSignerOptions
            {
                Url = $"https://localhost:{port}",
                CaFile = _caFile,
                ClientCertFile = _clientCertFile,
                ClientKeyFile = _clientKeyFile,
                CallTimeout = TimeSpan.FromMinutes(2),
            },
            NullLogger<RemoteSigningService>.Instance);
        var key = await patient.CreateKeyAsync("example.com/remote/warm-up", "timestamp", "ecdsa");
        Assert.Single(await patient.SignAsync("example.com/remote/warm-up", "timestamp", [key], "{}"u8.ToArray(), CancellationToken.None));
    }

    private async Task<string> TimestampKeyIdAsync(string gun) =>
        JsonDocument.Parse(await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/root.json")).RootElement
            .GetProperty("signed").GetProperty("roles").GetProperty("timestamp").GetProperty("keyids")[0].GetString()!;

    private async Task<List<string>> TimestampSignersAsync(string gun) =>
        [.. JsonDocument.Parse(await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/timestamp.json")).RootElement
            .GetProperty("signatures").EnumerateArray().Select(s => s.GetProperty("keyid").GetString()!)];

    private sealed class OurSigner(Microsoft.AspNetCore.Builder.WebApplication app, TemporaryDirectory contentRoot) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            contentRoot.Dispose();
        }
    }

    private Task<ReferenceNotarySigner> StartSignerAsync(int? port) =>
        ReferenceNotarySigner.StartAsync(new ReferenceNotarySignerOptions
        {
            ConnectionString = _keys.ConnectionString,
            ServerCertificate = _signerCertificate!,
            ClientCaFile = _ca!.WriteCertificatePem(_directory.Combine("client-ca.pem")),
            DefaultAlias = Alias,
            Passphrase = Passphrase,
            Port = port,
        });

    private async Task AssertHealthyAsync()
    {
        var health = await Server.Http.GetAsync("/_notary_server/health");
        Assert.True(health.StatusCode == HttpStatusCode.OK, await health.Content.ReadAsStringAsync());
    }
}

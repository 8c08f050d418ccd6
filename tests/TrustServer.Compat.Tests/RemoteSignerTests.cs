using System.Net;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Signing.Keys;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// Our server with <c>Signing:Mode=Remote</c> against the real notary-signer 0.7.0 over mutual TLS (both on
/// PostgreSQL), driven by the real notary client; then the signer goes away and comes back.
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

    private TrustServerInstance Server => _server!;

    public async Task InitializeAsync()
    {
        await _metadata.InitializeAsync();
        await _keys.InitializeAsync();

        // notary-signer needs its private_keys table; our key store's migration creates notary's schema.
        var store = new KeyStore(KeyStorageProvider.Postgres, _keys.ConnectionString, Alias, new StaticPassphraseSource([new(Alias, Passphrase)]));
        await store.MigrateAsync(CancellationToken.None);

        _ca = TestCertificates.CreateCertificateAuthority();
        _signerCertificate = TestCertificates.CreateTlsServer(_ca);
        using var client = TestCertificates.CreateTlsClient(_ca, "trustserver-server");
        var caFile = _ca.WriteCertificatePem(_directory.Combine("ca.pem"));
        var (clientCert, clientKey) = client.WriteFiles(_directory.Path, "server-client");
        _signer = await StartSignerAsync(port: null);

        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Postgres(_metadata.ConnectionString),
            [
                new("Signing:Mode", "Remote"),
                new("Signing:Remote:Url", $"https://localhost:{_signer.Port}"),
                new("Signing:Remote:CaFile", caFile),
                new("Signing:Remote:ClientCertFile", clientCert),
                new("Signing:Remote:ClientKeyFile", clientKey),
                new("Signing:Remote:CallTimeout", "00:00:05"),
                new("Signing:Remote:MaxAttempts", "2"),
            ]);
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
    public async Task RealNotarySigner_InitPublishRotateServerKeysDelete()
    {
        var gun = "example.com/remote/real-signer";
        using var client = Server.NewClient();
        var payload = _directory.Combine("payload.txt");
        await File.WriteAllTextAsync(payload, "signed by notary-signer\n");

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

        // The server's timestamp and snapshot keys live in notary-signer's table.
        var root = JsonDocument.Parse(await Server.Http.GetStringAsync($"/v2/{gun}/_trust/tuf/root.json")).RootElement.GetProperty("signed");
        var timestampKey = root.GetProperty("roles").GetProperty("timestamp").GetProperty("keyids")[0].GetString()!;
        var store = new KeyStore(KeyStorageProvider.Postgres, _keys.ConnectionString, Alias, new StaticPassphraseSource([new(Alias, Passphrase)]));
        Assert.NotNull(await store.GetKeyInfoAsync(timestampKey, CancellationToken.None));

        await client.RunCheckedAsync(["delete", gun, "--remote"]);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Http.GetAsync($"/v2/{gun}/_trust/tuf/root.json")).StatusCode);
    }

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

    // /healthz/ready answers 200 while reads work and says separately whether writes do.
    private async Task<(string Reads, string Writes)> ReadinessAsync()
    {
        var response = await Server.Http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (body.GetProperty("reads").GetString()!, body.GetProperty("writes").GetString()!);
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

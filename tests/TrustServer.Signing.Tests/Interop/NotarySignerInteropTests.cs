using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Tests.Interop;

/// <summary>
/// One PostgreSQL key database shared by the real notary-signer (reached through real notary-servers configured with
/// a remote trust service, one per key algorithm) and our <see cref="KeyStore"/>.
/// </summary>
public sealed class NotarySignerInteropFixture : IAsyncLifetime
{
    private readonly PostgresKeyDatabaseFixture _database = new();
    private readonly TemporaryDirectory _directory = new("signer-interop");
    private TestCertificate? _ca;
    private TestCertificate? _serverCertificate;
    private ReferenceNotarySigner? _signer;

    internal IKeyDatabase Database => _database;

    internal ReferenceNotarySigner Signer => _signer!;

    internal Dictionary<string, ReferenceNotaryServer> Servers { get; } = [];

    public async Task InitializeAsync()
    {
        // Our migration creates the table notary-signer then uses.
        await _database.InitializeAsync();
        _ca = TestCertificates.CreateCertificateAuthority();
        _serverCertificate = TestCertificates.CreateTlsServer(_ca);
        var caPath = _ca.WriteCertificatePem(_directory.Combine("ca.pem"));
        _signer = await ReferenceNotarySigner.StartAsync(new ReferenceNotarySignerOptions { ConnectionString = _database.ConnectionString, ServerCertificate = _serverCertificate, DefaultAlias = KeyDatabase.Alias, Passphrase = KeyDatabase.Passphrase });
        foreach (var algorithm in new[] { KeyType.Ecdsa, KeyType.Ed25519 })
        {
            Servers[algorithm] = await ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions
            {
                TrustServiceType = "remote",
                KeyAlgorithm = algorithm,
                TrustServiceHostname = "localhost",
                TrustServicePort = _signer.Port,
                TrustServiceTlsCaFile = caPath,
            });
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var server in Servers.Values)
        {
            await server.DisposeAsync();
        }

        if (_signer is not null)
        {
            await _signer.DisposeAsync();
        }

        _serverCertificate?.Dispose();
        _ca?.Dispose();
        _directory.Dispose();
        await _database.DisposeAsync();
    }
}

/// <summary>
/// Wire-level proof that our encryption at rest is notary-signer's: keys it creates we decrypt and sign with, keys we
/// create it hands out and signs with (spec signer.md §5, §6).
/// </summary>
public sealed class NotarySignerInteropTests(NotarySignerInteropFixture fixture) : IClassFixture<NotarySignerInteropFixture>
{
    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task KeyCreatedByNotarySigner_IsReadAndUsedByKeyStore(string algorithm)
    {
        var gun = $"docker.io/interop/theirs-{algorithm}";
        var published = await GetTimestampKeyAsync(algorithm, gun);

        var row = await KeyDatabase.ReadRowAsync(fixture.Database, published.Id);
        var header = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(Encoding.ASCII.GetString(row.Private).Split('.')[0]));
        Assert.Matches("^\\{\"alg\":\"PBES2-HS256\\+A128KW\",\"enc\":\"A256GCM\",\"p2c\":8192,\"p2s\":\"[A-Za-z0-9_-]{16}\"\\}$", header);
        Assert.Equal(("A256GCM", "PBES2-HS256+A128KW", KeyDatabase.Alias, "timestamp", gun), (row.EncryptionAlg, row.KeywrapAlg, row.PassphraseAlias, row.Role, row.Gun));

        var store = KeyDatabase.NewStore(fixture.Database);
        var info = await store.GetKeyInfoAsync(published.Id);
        Assert.NotNull(info);
        Assert.Equal(published.Public, info.Public);
        Assert.Equal(published.Id, info.KeyId);

        // Signing proves the plaintext (Go's SEC 1 / 96-byte Ed25519 encoding) decodes to the right private key.
        var message = "{\"signed\":\"by us\"}"u8.ToArray();
        var signature = await store.SignAsync(published.Id, message);
        Assert.True(SignatureVerifier.Verify(published, signature!.Method, message, signature.Value));
    }

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task KeyCreatedByKeyStore_IsServedAndSignedWithByNotarySigner(string algorithm)
    {
        var gun = $"docker.io/interop/ours-{algorithm}";
        var ours = await KeyDatabase.NewStore(fixture.Database).CreateKeyAsync(gun, "timestamp", algorithm);

        // notary-signer's CreateKey returns our pending key...
        Assert.Equal(ours.KeyId, (await GetTimestampKeyAsync(algorithm, gun)).Id);

        // ...and publishing makes notary-server sign the timestamp with it through notary-signer, which must decrypt it.
        var server = fixture.Servers[algorithm];
        using var notary = new NotaryCli(server.Url);
        var result = await notary.RunAsync(["init", gun, "--publish"]);
        Assert.True(result.ExitCode == 0, $"notary init --publish failed:\n{result}\n--- signer log ---\n{fixture.Signer.Log}");
        Assert.NotNull((await KeyDatabase.ReadRowAsync(fixture.Database, ours.KeyId)).LastUsed);

        using var http = new HttpClient();
        var timestamp = await http.GetStringAsync(new Uri($"{server.Url}/v2/{gun}/_trust/tuf/timestamp.json"));
        using var document = JsonDocument.Parse(timestamp);
        var signatureObject = Assert.Single(document.RootElement.GetProperty("signatures").EnumerateArray());
        Assert.Equal(ours.KeyId, signatureObject.GetProperty("keyid").GetString());
    }

    private async Task<TufPublicKey> GetTimestampKeyAsync(string algorithm, string gun)
    {
        using var http = new HttpClient();
        var json = await http.GetStringAsync(new Uri($"{fixture.Servers[algorithm].Url}/v2/{gun}/_trust/tuf/timestamp.key"));
        using var document = JsonDocument.Parse(json);
        var key = new TufPublicKey(
            document.RootElement.GetProperty("keytype").GetString()!,
            Convert.FromBase64String(document.RootElement.GetProperty("keyval").GetProperty("public").GetString()!));
        Assert.Equal(algorithm, key.KeyType);
        return key;
    }
}

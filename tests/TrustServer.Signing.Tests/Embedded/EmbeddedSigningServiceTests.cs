using Microsoft.Extensions.DependencyInjection;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Tests.Embedded;

/// <summary>The embedded <see cref="ISigningService"/> as a host registers it (SQLite, the embedded default).</summary>
public sealed class EmbeddedSigningServiceTests : IAsyncLifetime
{
    private static readonly byte[] Body = "{\"_type\":\"Snapshot\",\"version\":2}"u8.ToArray();
    private readonly TemporaryDirectory _directory = new("embedded-signing");
    private ServiceProvider? _services;

    private ISigningService Signing => _services!.GetRequiredService<ISigningService>();

    public async Task InitializeAsync()
    {
        _services = new ServiceCollection()
            .AddEmbeddedSigning(
                StorageProvider.Sqlite,
                $"Data Source={_directory.Combine("data", "trustserver.db")};Pooling=False",
                KeyDatabase.Alias,
                KeyDatabase.DefaultPassphrases)
            .BuildServiceProvider();
        await _services.MigrateKeyDatabaseAsync();
    }

    public async Task DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        _directory.Dispose();
    }

    [Fact]
    public async Task SignAsync_SignsWithHeldKeysOnly_UnderTheListedIds()
    {
        var ecdsa = await Signing.CreateKeyAsync("docker.io/library/app", "snapshot", KeyType.Ecdsa);
        var ed25519 = await Signing.CreateKeyAsync("docker.io/library/app", "snapshot", KeyType.Ed25519);
        using var stranger = EcdsaSigningKey.Generate();

        var signatures = await Signing.SignAsync("docker.io/library/app", "snapshot", [stranger.PublicKey, ecdsa, ed25519, ecdsa], Body, CancellationToken.None);

        Assert.Equal(2, signatures.Count);
        Assert.Equal([ecdsa.Id, ed25519.Id], signatures.Select(s => s.KeyId));
        Assert.Equal([SignatureMethod.Ecdsa, SignatureMethod.EdDsa], signatures.Select(s => s.Method));
        Assert.True(SignatureVerifier.Verify(ecdsa, signatures[0].Method, Body, signatures[0].Value));
        Assert.True(SignatureVerifier.Verify(ed25519, signatures[1].Method, Body, signatures[1].Value));
    }

    [Fact]
    public async Task SignAsync_MarksKeyUsed_SoCreateKeyReturnsANewOne()
    {
        var first = await Signing.CreateKeyAsync("docker.io/library/rotating", "timestamp", KeyType.Ecdsa);
        Assert.Equal(first.Id, (await Signing.CreateKeyAsync("docker.io/library/rotating", "timestamp", KeyType.Ecdsa)).Id);

        await Signing.SignAsync("docker.io/library/rotating", "timestamp", [first], Body, CancellationToken.None);

        Assert.NotEqual(first.Id, (await Signing.CreateKeyAsync("docker.io/library/rotating", "timestamp", KeyType.Ecdsa)).Id);
    }

    [Fact]
    public async Task SignAsync_NoHeldKey_ReturnsEmpty()
    {
        using var stranger = Ed25519SigningKey.Generate();

        Assert.Empty(await Signing.SignAsync("docker.io/library/app", "timestamp", [stranger.PublicKey], Body, CancellationToken.None));
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ecdsa-x509")]
    [InlineData("")]
    public async Task CreateKeyAsync_UnsupportedAlgorithm_ThrowsArgumentException(string algorithm) =>
        await Assert.ThrowsAsync<ArgumentException>(() => Signing.CreateKeyAsync("docker.io/library/app", "timestamp", algorithm));

    [Fact]
    public async Task GetKeyInfoAsync_KnownAndUnknown()
    {
        var key = await Signing.CreateKeyAsync("docker.io/library/info", "timestamp", KeyType.Ed25519);

        var info = await Signing.GetKeyInfoAsync(key.Id);

        Assert.NotNull(info);
        Assert.Equal(key.Id, info.PublicKey.Id);
        Assert.Equal(KeyType.Ed25519, info.PublicKey.KeyType);
        Assert.Equal("timestamp", info.Role);
        Assert.Null(await Signing.GetKeyInfoAsync(new string('c', 64)));
    }

    // notary-signer reports every load failure of GetKeyInfo as NOT_FOUND (signer.md §3); the embedded service does the
    // same (null), and signing treats such a key as not held instead of failing.
    [Fact]
    public async Task UndecryptableKey_IsNotFound_AndNotHeld()
    {
        var key = await Signing.CreateKeyAsync("docker.io/library/locked", "timestamp", KeyType.Ecdsa);
        await using var other = new ServiceCollection()
            .AddEmbeddedSigning(
                StorageProvider.Sqlite,
                $"Data Source={_directory.Combine("data", "trustserver.db")};Pooling=False",
                KeyDatabase.Alias,
                new StaticPassphraseSource([new(KeyDatabase.Alias, "wrong passphrase")]))
            .BuildServiceProvider();
        var wrong = other.GetRequiredService<ISigningService>();

        Assert.Null(await wrong.GetKeyInfoAsync(key.Id));
        Assert.Empty(await wrong.SignAsync("docker.io/library/locked", "timestamp", [key], Body, CancellationToken.None));
    }
}

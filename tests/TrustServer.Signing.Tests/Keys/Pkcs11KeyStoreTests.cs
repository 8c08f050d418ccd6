using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Net.Pkcs11Interop.Common;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;
using TrustServer.Signing.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;
using LowLevel = Net.Pkcs11Interop.LowLevelAPI80;

namespace TrustServer.Signing.Tests.Keys;

/// <summary>PKCS#11 tests share the module's process-wide state (a test finalizes it): one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Pkcs11Collection
{
    public const string Name = "pkcs11";
}

/// <summary>
/// The key store with <c>Keys:Backend = Pkcs11</c> on a fresh SoftHSM2 token and real PostgreSQL: keys generated in the
/// token and never readable out of it, signatures in TUF's format, mixed operation with JWE keys, concurrent signing,
/// recovery after the token's sessions or the whole module were torn down behind the pool's back, and the start checks.
/// </summary>
[Collection(Pkcs11Collection.Name)]
public sealed class Pkcs11KeyStoreTests : IClassFixture<PostgresKeyDatabaseFixture>, IAsyncLifetime
{
    private const string Alias = "pkcs11_test";
    private static readonly byte[] Message = "{\"_type\":\"Timestamp\",\"version\":7}"u8.ToArray();
    private readonly PostgresKeyDatabaseFixture _database;
    private readonly List<Pkcs11Token> _tokens = [];
    private SoftHsmToken _hsm = null!;

    public Pkcs11KeyStoreTests(PostgresKeyDatabaseFixture database) => _database = database;

    public async Task InitializeAsync() => _hsm = await SoftHsm.TokenAsync();

    public Task DisposeAsync()
    {
        foreach (var token in _tokens)
        {
            token.Dispose();
        }

        return Task.CompletedTask;
    }

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task CreateKey_InToken_SignsInTufFormat_DatabaseHoldsNoKeyMaterial_SurvivesRestart(string algorithm)
    {
        var gun = NewGun();
        var key = await Store().CreateKeyAsync(gun, "timestamp", algorithm);

        // The same public-key format and key ID as a JWE key of the algorithm.
        var jwe = await JweStore().CreateKeyAsync(gun, "snapshot", algorithm);
        Assert.Equal(jwe.Public.Length, key.Public.Length);
        Assert.Equal(new TufPublicKey(algorithm, key.Public).Id, key.KeyId);
        if (algorithm == KeyType.Ecdsa)
        {
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportSubjectPublicKeyInfo(key.Public, out _);
            Assert.Equal(ECCurve.NamedCurves.nistP256.Oid.Value, ecdsa.ExportParameters(false).Curve.Oid.Value);
        }

        // A new store and token client (a restart) signs with it: r||s / Ed25519, 64 bytes, verifying against the TUF key.
        var signature = await Store().SignAsync(key.KeyId, Message);
        Assert.NotNull(signature);
        Assert.Equal(SignatureMethod.ForKeyType(algorithm), signature.Method);
        Assert.Equal(64, signature.Value.Length);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, signature.Method, Message, signature.Value));

        await using var context = KeyDatabase.NewContext(_database);
        var row = await context.HsmKeys.SingleAsync(r => r.KeyId == key.KeyId);
        Assert.Equal((gun, "timestamp", algorithm, 16), (row.Gun, row.Role, row.Algorithm, row.ObjectId.Length));
        Assert.NotNull(row.LastUsed);
        Assert.Equal(_hsm.Label, row.TokenLabel);
        Assert.False(await context.PrivateKeys.AnyAsync(r => r.KeyId == key.KeyId));
    }

    [Fact]
    public async Task CreateKey_ReturnsThePendingTokenKey_UntilItSigns()
    {
        var store = Store();
        var gun = NewGun();
        var first = await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa);
        Assert.Equal(first, await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa));
        await store.SignAsync(first.KeyId, Message);
        Assert.NotEqual(first.KeyId, (await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa)).KeyId);
    }

    [Fact]
    public async Task PrivateKey_CannotBeReadOrWrappedOutOfTheToken()
    {
        var token = Token();
        var key = await Store(token).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);
        await using var context = KeyDatabase.NewContext(_database);
        var row = await context.HsmKeys.SingleAsync(r => r.KeyId == key.KeyId);
        var id = Convert.ToHexStringLower(row.ObjectId);

        // OpenSC's pkcs11-tool, an independent client: the object is sensitive, never extractable, and signs only...
        var objects = await Pkcs11ToolAsync("--list-objects", "--type", "privkey", "--id", id);
        Assert.Contains("Access:     sensitive, always sensitive, never extractable, local", objects, StringComparison.Ordinal);
        Assert.Contains("Usage:      sign\n", objects, StringComparison.Ordinal);

        // ...reading its value (C_GetAttributeValue of CKA_VALUE) is refused, and so is wrapping it out under a key
        // of ours (C_WrapKey: CKR_KEY_UNEXTRACTABLE).
        using var probe = new TokenProbe(_hsm, token.SlotId!.Value);
        Assert.Equal(CKR.CKR_ATTRIBUTE_SENSITIVE, probe.ReadValue(row.ObjectId));
        Assert.Equal(CKR.CKR_KEY_UNEXTRACTABLE, probe.Wrap(row.ObjectId));
    }

    [Fact]
    public async Task MixedOperation_JweKeysKeepSigning_NewKeysGoToTheToken()
    {
        var gun = NewGun();
        var old = await JweStore().CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa);

        // The JWE key is pending; with the token selected a new key comes from the token all the same.
        var store = Store();
        var fresh = await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa);
        Assert.NotEqual(old.KeyId, fresh.KeyId);
        await using var context = KeyDatabase.NewContext(_database);
        Assert.True(await context.HsmKeys.AnyAsync(r => r.KeyId == fresh.KeyId));

        // The JWE key keeps signing.
        var signature = await store.SignAsync(old.KeyId, Message);
        Assert.NotNull(signature);
        Assert.True(SignatureVerifier.Verify(old.PublicKey, signature.Method, Message, signature.Value));

        // Back on the database backend, a token key is not held (reported as not found) and nothing breaks.
        await Assert.ThrowsAsync<KeyStoreException>(() => JweStore().SignAsync(fresh.KeyId, Message));
        Assert.NotNull(await JweStore().SignAsync(old.KeyId, Message));
    }

    [Fact]
    public async Task ConcurrentSigning_ManyParallelCallsOverFewSessions_AllVerify()
    {
        var store = Store(maxSessions: 3);
        var gun = NewGun();
        var keys = new[]
        {
            await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa),
            await store.CreateKeyAsync(gun, "snapshot", KeyType.Ecdsa),
            await store.CreateKeyAsync(gun, "timestamp", KeyType.Ed25519),
        };

        var results = await Task.WhenAll(Enumerable.Range(0, 120).Select(i => Task.Run(async () =>
        {
            var key = keys[i % keys.Length];
            var message = System.Text.Encoding.UTF8.GetBytes($"{{\"n\":{i}}}");
            var signature = await store.SignAsync(key.KeyId, message);
            return signature is not null && SignatureVerifier.Verify(key.PublicKey, signature.Method, message, signature.Value);
        })));

        Assert.All(results, Assert.True);
    }

    [Fact]
    public async Task Recovery_SessionsClosedOrModuleFinalizedBehindThePool_NextSignWorks()
    {
        var token = Token();
        var store = Store(token);
        var key = await store.CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);
        Assert.NotNull(await store.SignAsync(key.KeyId, Message));
        var slot = token.SlotId!.Value;

        using (var module = new LowLevel.Pkcs11Library(_hsm.Library))
        {
            // Every session of this application on the token closed (the pool's idle ones included): login is gone too.
            Assert.Equal(CKR.CKR_OK, module.C_CloseAllSessions(slot));
            await AssertSignsAsync(store, key);

            // The module finalized under the pool: every handle is dead until it is initialized again.
            Assert.Equal(CKR.CKR_OK, module.C_Finalize(IntPtr.Zero));
            await AssertSignsAsync(store, key);
            await AssertSignsAsync(store, key);
        }
    }

    [Fact]
    public async Task Open_WrongLibraryTokenOrPin_FailsWithOneLineReason()
    {
        using var notAModule = new TemporaryDirectory("pkcs11-bad");
        var fake = notAModule.Combine("libfake.so");
        await File.WriteAllTextAsync(fake, "not a shared object");
        var wrongPin = notAModule.Combine("pin");
        await File.WriteAllTextAsync(wrongPin, "0000");

        Assert.Contains("does not exist", OpenError(Options() with { Library = notAModule.Combine("missing.so") }), StringComparison.Ordinal);
        Assert.Contains("cannot be loaded", OpenError(Options() with { Library = fake }), StringComparison.Ordinal);
        Assert.Contains("no token labelled 'no-such-token'", OpenError(Options() with { TokenLabel = "no-such-token" }), StringComparison.Ordinal);
        var pin = OpenError(Options() with { PinFile = wrongPin });
        Assert.Contains("refused the PIN (CKR_PIN_INCORRECT)", pin, StringComparison.Ordinal);
        Assert.DoesNotContain("0000", pin, StringComparison.Ordinal);
        Assert.DoesNotContain(_hsm.Pin, pin, StringComparison.Ordinal);

        // By slot number: a slot without the token is named; the token's own slot opens.
        Assert.Contains("no token in slot 4242", OpenError(Options() with { TokenLabel = null, SlotId = "4242" }), StringComparison.Ordinal);
        var byLabel = Token();
        byLabel.Open();
        using var bySlot = new Pkcs11Token(Options() with { TokenLabel = null, SlotId = byLabel.SlotId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        bySlot.Open();
        Assert.Equal(_hsm.Label, bySlot.TokenLabel);
    }

    [Fact]
    public void Options_BadSettings_AreNamed()
    {
        var validator = new KeyBackendOptionsValidator();
        Assert.True(validator.Validate(null, new KeyBackendOptions()).Succeeded);
        Assert.Contains("Keys:Backend must be Database or Pkcs11", validator.Validate(null, new KeyBackendOptions { Backend = "Hsm" }).FailureMessage, StringComparison.Ordinal);
        var missing = validator.Validate(null, new KeyBackendOptions { Backend = KeyBackend.Pkcs11 }).FailureMessage;
        Assert.Contains("Keys:Pkcs11:Library", missing, StringComparison.Ordinal);
        Assert.Contains("exactly one of Keys:Pkcs11:TokenLabel and Keys:Pkcs11:SlotId", missing, StringComparison.Ordinal);
        var slot = validator.Validate(null, new KeyBackendOptions { Backend = KeyBackend.Pkcs11, Pkcs11 = Options() with { TokenLabel = null, SlotId = "x" } });
        Assert.Contains("Keys:Pkcs11:SlotId must be a decimal slot number", slot.FailureMessage, StringComparison.Ordinal);
    }

    private static async Task AssertSignsAsync(KeyStore store, StoredKey key)
    {
        var signature = await store.SignAsync(key.KeyId, Message);
        Assert.NotNull(signature);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, signature.Method, Message, signature.Value));
    }

    private string OpenError(Pkcs11Options options)
    {
        using var token = new Pkcs11Token(options);
        var error = Assert.ThrowsAny<Pkcs11TokenException>(token.Open);
        Assert.DoesNotContain('\n', error.Message);
        return error.Message;
    }

    private Pkcs11Options Options() => new() { Library = _hsm.Library, TokenLabel = _hsm.Label, PinFile = _hsm.PinFile };

    private Pkcs11Token Token(int maxSessions = 8)
    {
        var token = new Pkcs11Token(Options() with { MaxSessions = maxSessions });
        _tokens.Add(token);
        return token;
    }

    private KeyStore Store(int maxSessions = 8) => Store(Token(maxSessions));

    private KeyStore Store(Pkcs11Token token) =>
        new(StorageProvider.Postgres, _database.ConnectionString, Alias, Passphrases, token: token);

    private KeyStore JweStore() => new(StorageProvider.Postgres, _database.ConnectionString, Alias, Passphrases);

    private static StaticPassphraseSource Passphrases => new([new(Alias, "pkcs11-test-passphrase")]);

    private static string NewGun() => $"example.com/pkcs11/{Guid.NewGuid():N}";

    private async Task<string> Pkcs11ToolAsync(params string[] arguments)
    {
        var tool = new[] { "/usr/bin/pkcs11-tool" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("pkcs11-tool not found: install the Debian package opensc");
        var result = await ProcessRunner.RunAsync(
            tool,
            ["--module", _hsm.Library, "--token-label", _hsm.Label, "--login", "--pin", _hsm.Pin, .. arguments],
            TimeSpan.FromSeconds(30),
            environment: [new(SoftHsm.ConfigVariable, SoftHsm.ConfigFile)]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput;
    }
}

using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TrustServer.Signing.Encryption;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Tests.Keys;

/// <summary>The key store's contract (spec signer.md §3, §5, §6), run on every provider.</summary>
public abstract class KeyStoreContractTests(IKeyDatabase database)
{
    private static readonly byte[] Message = "{\"_type\":\"Timestamp\",\"version\":1}"u8.ToArray();

    protected IKeyDatabase Database { get; } = database;

    [Fact]
    public async Task Migrate_RecordsInitialMigrationInOwnHistoryTable_AndIsIdempotent()
    {
        await KeyDatabase.NewStore(Database).MigrateAsync();

        await using var context = KeyDatabase.NewContext(Database);
        var applied = (await context.Database.GetAppliedMigrationsAsync()).ToList();
        Assert.Equal(2, applied.Count);
        Assert.EndsWith("_InitialKeys", applied[0], StringComparison.Ordinal);
        Assert.EndsWith("_HsmKeys", applied[1], StringComparison.Ordinal);
        Assert.Empty(await context.Database.GetPendingMigrationsAsync());
        var count = await context.Database.SqlQueryRaw<int>("SELECT COUNT(*) AS \"Value\" FROM \"__keys_migrations\"").SingleAsync();
        Assert.Equal(2, count);
    }

    [Fact]
    public async Task Sign_WritesLastUsedAtMostOncePerResolution()
    {
        var start = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var time = new FixedTimeProvider(start);
        var store = KeyDatabase.NewStore(Database, time: time);
        var key = await store.CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);

        await store.SignAsync(key.KeyId, Message);
        time.Now = start + KeyStore.LastUsedResolution - TimeSpan.FromSeconds(1);
        await store.SignAsync(key.KeyId, Message);
        Assert.Equal(start.UtcDateTime, (await KeyDatabase.ReadRowAsync(Database, key.KeyId)).LastUsed);

        time.Now = start + KeyStore.LastUsedResolution;
        await store.SignAsync(key.KeyId, Message);
        Assert.Equal(time.Now.UtcDateTime, (await KeyDatabase.ReadRowAsync(Database, key.KeyId)).LastUsed);
    }

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task CreateKey_ReturnsSamePendingKeyUntilItSigns_ThenANewOne(string algorithm)
    {
        var store = KeyDatabase.NewStore(Database);
        var gun = NewGun();

        var first = await store.CreateKeyAsync(gun, "timestamp", algorithm);
        var again = await KeyDatabase.NewStore(Database).CreateKeyAsync(gun, "timestamp", algorithm);
        Assert.Equal(first.KeyId, again.KeyId);

        Assert.NotNull(await store.SignAsync(first.KeyId, Message));
        var next = await store.CreateKeyAsync(gun, "timestamp", algorithm);
        Assert.NotEqual(first.KeyId, next.KeyId);
        Assert.Equal(next.KeyId, (await store.CreateKeyAsync(gun, "timestamp", algorithm)).KeyId);
        Assert.Equal(2, (await KeyDatabase.ReadRowsAsync(Database, gun)).Count);
    }

    [Fact]
    public async Task CreateKey_SeveralPending_ReturnsSmallestKeyId()
    {
        var gun = NewGun();
        var store = KeyDatabase.NewStore(Database);
        var a = await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa);

        // A second pending key can only appear when inserted behind the store's back (e.g. an older signer).
        await using (var context = KeyDatabase.NewContext(Database))
        {
            var row = await KeyDatabase.ReadRowAsync(Database, a.KeyId);
            context.AllPrivateKeys.Add(new PrivateKeyRow
            {
                KeyId = "0000" + a.KeyId[4..], EncryptionAlg = row.EncryptionAlg, KeywrapAlg = row.KeywrapAlg, Algorithm = row.Algorithm,
                PassphraseAlias = row.PassphraseAlias, Public = row.Public, Private = row.Private, Gun = gun, Role = "timestamp",
            });
            await context.SaveChangesAsync();
        }

        Assert.Equal("0000" + a.KeyId[4..], (await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa)).KeyId);
    }

    [Fact]
    public async Task CreateKey_KeysAreSeparatePerGunRoleAndAlgorithm()
    {
        var store = KeyDatabase.NewStore(Database);
        var gun = NewGun();

        var ids = new[]
        {
            (await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa)).KeyId,
            (await store.CreateKeyAsync(gun, "snapshot", KeyType.Ecdsa)).KeyId,
            (await store.CreateKeyAsync(gun, "timestamp", KeyType.Ed25519)).KeyId,
            (await store.CreateKeyAsync(gun + "/other", "timestamp", KeyType.Ecdsa)).KeyId,
        };

        Assert.Equal(4, ids.Distinct().Count());
        var rows = await KeyDatabase.ReadRowsAsync(Database, gun);
        Assert.Contains(rows, r => r.Role == "snapshot" && r.Algorithm == KeyType.Ecdsa);
        Assert.Contains(rows, r => r.Role == "timestamp" && r.Algorithm == KeyType.Ed25519);
    }

    [Fact]
    public async Task CreateKey_ConcurrentCallsForOneTriple_CreateOneKey()
    {
        var gun = NewGun();

        // Separate store instances: nothing in-process is shared but the database.
        var keys = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            Task.Run(() => KeyDatabase.NewStore(Database).CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa))));

        Assert.Single(keys.Select(k => k.KeyId).Distinct());
        Assert.Single(await KeyDatabase.ReadRowsAsync(Database, gun));
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ecdsa-x509")]
    [InlineData("ECDSA")]
    [InlineData("")]
    public async Task CreateKey_UnsupportedAlgorithm_ThrowsArgumentException(string algorithm)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", algorithm));
        Assert.Contains($"algorithm {algorithm} not supported for create key", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(KeyType.Ecdsa, SignatureMethod.Ecdsa)]
    [InlineData(KeyType.Ed25519, SignatureMethod.EdDsa)]
    public async Task Sign_ProducesVerifying64ByteSignature(string algorithm, string method)
    {
        var key = await KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", algorithm);

        // A fresh store: the key is loaded from the database and decrypted, not taken from the creator's cache.
        var signature = await KeyDatabase.NewStore(Database).SignAsync(key.KeyId, Message);

        Assert.NotNull(signature);
        Assert.Equal(method, signature.Method);
        Assert.Equal(64, signature.Value.Length);
        Assert.Equal(key, signature.Key);
        Assert.True(SignatureVerifier.Verify(key.PublicKey, method, Message, signature.Value));
    }

    [Fact]
    public async Task PublicKey_Ecdsa_IsP256Spki()
    {
        var key = await KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);

        Assert.Equal(91, key.Public.Length);
        Assert.Equal(Convert.FromHexString("3059301306072a8648ce3d0201"), key.Public[..13]);
        Assert.Equal(new TufPublicKey(KeyType.Ecdsa, key.Public).Id, key.KeyId);
        Assert.Equal(key.Public, (await KeyDatabase.ReadRowAsync(Database, key.KeyId)).Public);
    }

    [Fact]
    public async Task PublicKey_Ed25519_IsRaw32Bytes()
    {
        var key = await KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ed25519);

        Assert.Equal(32, key.Public.Length);
        Assert.Equal(new TufPublicKey(KeyType.Ed25519, key.Public).Id, key.KeyId);
    }

    [Fact]
    public async Task GetKeyInfo_Known_ReturnsKeyAndRole_WithoutMarkingItUsed()
    {
        var gun = NewGun();
        var created = await KeyDatabase.NewStore(Database).CreateKeyAsync(gun, "snapshot", KeyType.Ed25519);

        var info = await KeyDatabase.NewStore(Database).GetKeyInfoAsync(created.KeyId);

        Assert.Equal(created, info);
        Assert.Equal("snapshot", info!.Role);
        Assert.Equal(gun, info.Gun);
        Assert.Null((await KeyDatabase.ReadRowAsync(Database, created.KeyId)).LastUsed);
    }

    [Fact]
    public async Task GetKeyInfoAndSign_Unknown_ReturnNull()
    {
        var store = KeyDatabase.NewStore(Database);

        Assert.Null(await store.GetKeyInfoAsync(new string('a', 64)));
        Assert.Null(await store.SignAsync(new string('a', 64), Message));
    }

    [Fact]
    public async Task Sign_SetsLastUsedAndUpdatedAtFromTimeProvider()
    {
        var created = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var time = new FixedTimeProvider(created);
        var store = KeyDatabase.NewStore(Database, time: time);
        var key = await store.CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);
        var before = await KeyDatabase.ReadRowAsync(Database, key.KeyId);
        time.Now = created.AddMinutes(5);

        await store.SignAsync(key.KeyId, Message);

        var after = await KeyDatabase.ReadRowAsync(Database, key.KeyId);
        Assert.Equal(created.UtcDateTime, before.CreatedAt);
        Assert.Null(before.LastUsed);
        Assert.Equal(time.Now.UtcDateTime, after.LastUsed);
        Assert.Equal(DateTimeKind.Utc, after.LastUsed!.Value.Kind);
        Assert.Equal(time.Now.UtcDateTime, after.UpdatedAt);
    }

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task StoredRow_HoldsNotarySignersJwe_AndNoPlaintextKey(string algorithm)
    {
        var key = await KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", algorithm);

        var row = await KeyDatabase.ReadRowAsync(Database, key.KeyId);

        Assert.Equal("A256GCM", row.EncryptionAlg);
        Assert.Equal("PBES2-HS256+A128KW", row.KeywrapAlg);
        Assert.Equal(algorithm, row.Algorithm);
        Assert.Equal(KeyDatabase.Alias, row.PassphraseAlias);
        Assert.All(row.Private, b => Assert.True(b < 0x80));
        var compact = Encoding.ASCII.GetString(row.Private);
        var parts = compact.Split('.');
        Assert.Equal(5, parts.Length);
        using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        Assert.Equal(["alg", "enc", "p2c", "p2s"], header.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("PBES2-HS256+A128KW", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal("A256GCM", header.RootElement.GetProperty("enc").GetString());
        Assert.Equal(8192, header.RootElement.GetProperty("p2c").GetInt32());
        Assert.Equal(12, Base64Url.DecodeFromChars(header.RootElement.GetProperty("p2s").GetString()).Length);

        // The plaintext is notary-signer's key encoding; none of its secret part appears in the stored column.
        var plaintext = Jwe.Decrypt(compact, KeyDatabase.Passphrase);
        using var decoded = PrivateKeyCodec.Decode(algorithm, plaintext);
        Assert.Equal(key.KeyId, decoded.PublicKey.Id);
        var secret = algorithm == KeyType.Ecdsa ? plaintext.AsSpan(7, 32).ToArray() : plaintext.AsSpan(32, 32).ToArray();
        Assert.Equal(-1, row.Private.AsSpan().IndexOf(secret));
        Assert.DoesNotContain(Convert.ToBase64String(secret), compact, StringComparison.Ordinal);
        Assert.DoesNotContain(Base64Url.EncodeToString(secret), compact, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_WrongPassphrase_ThrowsKeyDecryptionException()
    {
        var key = await KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);
        var wrong = KeyDatabase.NewStore(Database, new StaticPassphraseSource([new(KeyDatabase.Alias, "wrong")]));

        var error = await Assert.ThrowsAsync<KeyDecryptionException>(() => wrong.GetKeyInfoAsync(key.KeyId));
        await Assert.ThrowsAsync<KeyDecryptionException>(() => wrong.SignAsync(key.KeyId, Message));
        Assert.DoesNotContain(KeyDatabase.Passphrase, error.Message, StringComparison.Ordinal);
        Assert.Null((await KeyDatabase.ReadRowAsync(Database, key.KeyId)).LastUsed);
    }

    [Fact]
    public async Task Load_MissingPassphraseVariable_ThrowsPassphraseUnavailable()
    {
        var alias = "missing_" + Guid.NewGuid().ToString("N")[..8];
        var variable = EnvironmentPassphraseSource.VariableName(alias);
        Environment.SetEnvironmentVariable(variable, "env-passphrase");
        var key = await KeyDatabase.NewStore(Database, new EnvironmentPassphraseSource(), alias).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ed25519);
        Environment.SetEnvironmentVariable(variable, null);

        var error = await Assert.ThrowsAsync<PassphraseUnavailableException>(
            () => KeyDatabase.NewStore(Database, new EnvironmentPassphraseSource(), alias).SignAsync(key.KeyId, Message));

        Assert.Equal($"expected env variable to not be empty: {alias}", error.Message);
        Assert.Equal(alias, error.Alias);
    }

    [Fact]
    public async Task CreateKey_DefaultAliasWithoutPassphrase_ThrowsPassphraseUnavailable_AndStoresNothing()
    {
        var gun = NewGun();

        await Assert.ThrowsAsync<PassphraseUnavailableException>(
            () => KeyDatabase.NewStore(Database, new StaticPassphraseSource([])).CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa));

        Assert.Empty(await KeyDatabase.ReadRowsAsync(Database, gun));
    }

    [Fact]
    public async Task DeleteKey_SoftDeletes_AndUnknownIsFine()
    {
        var store = KeyDatabase.NewStore(Database);
        var gun = NewGun();
        var key = await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa);
        await store.GetKeyInfoAsync(key.KeyId);

        await store.DeleteKeyAsync(key.KeyId);
        await store.DeleteKeyAsync(new string('b', 64));

        Assert.Null(await store.GetKeyInfoAsync(key.KeyId));
        Assert.Null(await KeyDatabase.NewStore(Database).SignAsync(key.KeyId, Message));
        Assert.NotNull((await KeyDatabase.ReadRowAsync(Database, key.KeyId)).DeletedAt);
        Assert.NotEqual(key.KeyId, (await store.CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa)).KeyId);
    }

    [Fact]
    public async Task ReencryptAll_UnderNewAlias_KeysStillSign_AndAliasChanges()
    {
        // All keys of the database are re-encrypted, so this test has a database of its own.
        await using var scratch = await Database.CreateScratchAsync();
        await KeyDatabase.NewStore(scratch).MigrateAsync();
        var gun = NewGun();
        var newAlias = "rotated_" + Guid.NewGuid().ToString("N")[..8];
        var both = new StaticPassphraseSource([new(KeyDatabase.Alias, KeyDatabase.Passphrase), new(newAlias, "new passphrase")]);
        var ecdsa = await KeyDatabase.NewStore(scratch).CreateKeyAsync(gun, "timestamp", KeyType.Ecdsa);
        var ed25519 = await KeyDatabase.NewStore(scratch).CreateKeyAsync(gun, "snapshot", KeyType.Ed25519);
        var oldPrivate = (await KeyDatabase.ReadRowAsync(scratch, ecdsa.KeyId)).Private;

        var count = await KeyDatabase.NewStore(scratch, both).ReencryptAllAsync(newAlias);

        Assert.Equal(2, count);
        Assert.Equal(0, await KeyDatabase.NewStore(scratch, both).ReencryptAllAsync(newAlias));
        var onlyNew = KeyDatabase.NewStore(scratch, new StaticPassphraseSource([new(newAlias, "new passphrase")]), newAlias);
        foreach (var key in new[] { ecdsa, ed25519 })
        {
            var row = await KeyDatabase.ReadRowAsync(scratch, key.KeyId);
            Assert.Equal(newAlias, row.PassphraseAlias);
            var signature = await onlyNew.SignAsync(key.KeyId, Message);
            Assert.True(SignatureVerifier.Verify(key.PublicKey, signature!.Method, Message, signature.Value));
        }

        Assert.NotEqual(oldPrivate, (await KeyDatabase.ReadRowAsync(scratch, ecdsa.KeyId)).Private);
        await Assert.ThrowsAsync<KeyDecryptionException>(
            () => KeyDatabase.NewStore(scratch, new StaticPassphraseSource([new(newAlias, KeyDatabase.Passphrase)])).GetKeyInfoAsync(ecdsa.KeyId));
    }

    [Fact]
    public async Task ReencryptAll_NewAliasWithoutPassphrase_ThrowsAndChangesNothing()
    {
        await using var scratch = await Database.CreateScratchAsync();
        await KeyDatabase.NewStore(scratch).MigrateAsync();
        var key = await KeyDatabase.NewStore(scratch).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);

        await Assert.ThrowsAsync<PassphraseUnavailableException>(() => KeyDatabase.NewStore(scratch).ReencryptAllAsync("nobody"));

        Assert.Equal(KeyDatabase.Alias, (await KeyDatabase.ReadRowAsync(scratch, key.KeyId)).PassphraseAlias);
    }

    protected static string NewGun() => "docker.io/test/" + Guid.NewGuid().ToString("N")[..12];
}

public sealed class PostgresKeyStoreTests(PostgresKeyDatabaseFixture database)
    : KeyStoreContractTests(database), IClassFixture<PostgresKeyDatabaseFixture>
{
    // A database whose private_keys table was created by notary-signer's own migration (the same columns, types and
    // constraint names, and golang-migrate's schema_migrations table: NotaryServerSchema) is adopted by our first migration.
    [Fact]
    public async Task Migrate_ExistingNotarySignerTable_IsAdoptedWithItsRows()
    {
        await using var scratch = await Database.CreateScratchAsync();
        var key = await KeyDatabase.NewStore(Database).CreateKeyAsync(NewGun(), "timestamp", KeyType.Ecdsa);
        var row = await KeyDatabase.ReadRowAsync(Database, key.KeyId);
        await NotaryServerSchema.CreateSignerTablesAsync(NotaryDatabaseProvider.Postgres, scratch.ConnectionString);
        await using (var connection = new Npgsql.NpgsqlConnection(scratch.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new Npgsql.NpgsqlCommand(
                """
                INSERT INTO private_keys (created_at, updated_at, key_id, encryption_alg, keywrap_alg, algorithm, passphrase_alias, public, private, gun, role)
                VALUES (now(), now(), @keyId, 'A256GCM', 'PBES2-HS256+A128KW', 'ecdsa', 'timestamp_1', @public, @private, 'docker.io/library/adopted', 'timestamp');
                """,
                connection);
            create.Parameters.AddWithValue("keyId", row.KeyId);
            create.Parameters.AddWithValue("public", row.Public);
            create.Parameters.AddWithValue("private", row.Private);
            await create.ExecuteNonQueryAsync();
        }

        var store = KeyDatabase.NewStore(scratch);
        await store.MigrateAsync();

        Assert.Equal(key.KeyId, (await store.CreateKeyAsync("docker.io/library/adopted", "timestamp", KeyType.Ecdsa)).KeyId);
        var signature = await store.SignAsync(key.KeyId, "{}"u8.ToArray());
        Assert.True(SignatureVerifier.Verify(key.PublicKey, SignatureMethod.Ecdsa, "{}"u8, signature!.Value));
    }
}

public sealed class SqliteKeyStoreTests(SqliteKeyDatabaseFixture database)
    : KeyStoreContractTests(database), IClassFixture<SqliteKeyDatabaseFixture>;

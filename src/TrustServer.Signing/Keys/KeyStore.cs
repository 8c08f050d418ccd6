using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrustServer.Data;
using TrustServer.Signing.Encryption;
using TrustServer.Signing.Keys.Pkcs11;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signing.Keys;

/// <summary>
/// notary-signer's SQL key store (spec signer.md §3, §5, §6): private keys encrypted at rest as JWE under a passphrase
/// alias, get-or-create of pending keys, signing that marks keys active, soft delete and passphrase rotation.
/// Backs both the embedded <see cref="ISigningService"/> and the gRPC signer host. Thread-safe; use one instance per
/// database (it caches decrypted keys, which are immutable by key ID). As in notary-signer's cached key service, the
/// cache is only invalidated by this instance's own <see cref="DeleteKeyAsync"/>: a key deleted through another
/// replica keeps signing here until restart (signer.md §6).
/// With a <see cref="Pkcs11Token"/> (<c>Keys:Backend = Pkcs11</c>), new keys are generated in the token and described in
/// <c>hsm_keys</c> (no key material in the database); existing JWE keys keep signing (mixed operation).
/// </summary>
/// <remarks>
/// Every operation but <see cref="MigrateAsync"/> is retried once, on a fresh connection, when it fails with a transient
/// PostgreSQL error (<see cref="StorageErrors.IsTransient"/>; e.g. the dead pooled connections left by a server
/// restart). That is safe because each operation is idempotent: reads; <c>last_used</c>/<c>deleted_at</c> updates;
/// re-encryption, which skips rows already under the new alias; and <see cref="CreateKeyAsync"/>, which is
/// get-or-create under the (gun, role, algorithm) lock: when the failed attempt's commit did reach the database (the
/// ambiguous case: the acknowledgement was lost), the retry finds that key pending and returns it instead of storing a
/// second one.
/// </remarks>
public sealed partial class KeyStore
{
    private readonly KeyDbContextFactory _contexts;
    private readonly IPassphraseSource _passphrases;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, CachedKey> _cache = new(StringComparer.Ordinal);

    /// <summary>How precisely <c>last_used</c> follows signatures (it is written at most this often per key and process).</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _lastUsedWritten = new(StringComparer.Ordinal);

    /// <summary>Creates a key store over a database.</summary>
    /// <param name="provider">The database engine.</param>
    /// <param name="connectionString">The key database's connection string.</param>
    /// <param name="defaultAlias">Passphrase alias that encrypts new keys (notary-signer's <c>storage.default_alias</c>).</param>
    /// <param name="passphrases">Passphrases by alias (notary-signer: <see cref="EnvironmentPassphraseSource"/>).</param>
    /// <param name="timeProvider">Clock for <c>created_at</c>/<c>last_used</c>/…; the system clock when null.</param>
    /// <param name="logger">Logger; none when null. Never receives key material.</param>
    /// <param name="token">The PKCS#11 token new keys are generated in; null = new keys are JWE rows (<c>Keys:Backend = Database</c>).</param>
    public KeyStore(
        StorageProvider provider,
        string connectionString,
        string defaultAlias,
        IPassphraseSource passphrases,
        TimeProvider? timeProvider = null,
        ILogger<KeyStore>? logger = null,
        Pkcs11Token? token = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(defaultAlias);
        ArgumentNullException.ThrowIfNull(passphrases);
        _contexts = new KeyDbContextFactory(provider, connectionString);
        DefaultAlias = defaultAlias;
        _passphrases = passphrases;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _token = token;
    }

    private readonly Pkcs11Token? _token;

    /// <summary>The passphrase alias new keys are encrypted under.</summary>
    public string DefaultAlias { get; }

    /// <summary>The algorithms the store can create: <c>ecdsa</c> and <c>ed25519</c> (signer.md §3).</summary>
    public static bool IsSupportedAlgorithm(string algorithm) => algorithm is KeyType.Ecdsa or KeyType.Ed25519;

    /// <summary>
    /// Applies pending migrations (history in <c>__keys_migrations</c>). On PostgreSQL the initial migration adopts an
    /// existing notary-signer <c>private_keys</c> table instead of failing. Creates a missing SQLite file owner-only
    /// (mode 0600, directory 0700).
    /// </summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        _contexts.EnsureSqliteFile(_logger);
        await using var context = _contexts.Create();
        await context.Database.MigrateIfPendingAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Returns the pending key (never used to sign) for exactly (gun, role, algorithm) with the smallest key ID, or
    /// generates, encrypts under <see cref="DefaultAlias"/> and stores a new one (signer.md §6). Concurrent calls for
    /// one triple on one database are serialized and return the same key.
    /// </summary>
    /// <exception cref="ArgumentException">The algorithm is not <c>ecdsa</c> or <c>ed25519</c>.</exception>
    /// <exception cref="PassphraseUnavailableException">The default alias has no passphrase.</exception>
    /// <exception cref="KeyAlgorithmNotSupportedException">The PKCS#11 token cannot make keys of this algorithm.</exception>
    /// <exception cref="Pkcs11TokenException">The PKCS#11 token failed.</exception>
    public Task<StoredKey> CreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(role);
        if (algorithm is null || !IsSupportedAlgorithm(algorithm))
        {
            throw new ArgumentException($"algorithm {algorithm} not supported for create key", nameof(algorithm));
        }

        return _token is null
            ? RetryOnceAsync(nameof(CreateKeyAsync), ct => GetOrCreateKeyAsync(gun, role, algorithm, ct), cancellationToken)
            : RetryOnceAsync(nameof(CreateKeyAsync), ct => GetOrCreateTokenKeyAsync(_token, gun, role, algorithm, ct), cancellationToken);
    }

    // As GetOrCreateKeyAsync, in the token: the pending hsm_keys row, else a key pair generated in the token.
    private async Task<StoredKey> GetOrCreateTokenKeyAsync(Pkcs11Token token, string gun, string role, string algorithm, CancellationToken cancellationToken)
    {
        await using var context = _contexts.Create();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await context.LockCreateAsync(gun, role, algorithm, cancellationToken).ConfigureAwait(false);
        var pending = await context.HsmKeys.AsNoTracking()
            .Where(r => r.Gun == gun && r.Role == role && r.Algorithm == algorithm && r.LastUsed == null)
            .OrderBy(r => r.KeyId)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (pending is not null)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return ToStoredKey(pending);
        }

        var pair = await token.GenerateKeyPairAsync(algorithm, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow().UtcDateTime;
        var row = new HsmKeyRow
        {
            CreatedAt = now,
            UpdatedAt = now,
            KeyId = new TufPublicKey(algorithm, pair.Public).Id,
            Algorithm = algorithm,
            Public = pair.Public,
            Gun = gun,
            Role = role,
            ObjectId = pair.ObjectId,
            ObjectLabel = pair.Label,
            TokenLabel = token.TokenLabel ?? string.Empty,
        };
        context.AllHsmKeys.Add(row);
        await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        var stored = ToStoredKey(row);
        _cache[stored.KeyId] = new CachedKey(stored, null, row.ObjectId);
        LogTokenKeyCreated(_logger, stored.KeyId, gun, role, algorithm, row.ObjectLabel);
        return stored;
    }

    private async Task<StoredKey> GetOrCreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken)
    {
        await using var context = _contexts.Create();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await context.LockCreateAsync(gun, role, algorithm, cancellationToken).ConfigureAwait(false);
        var pending = await context.PrivateKeys.AsNoTracking()
            .Where(r => r.Gun == gun && r.Role == role && r.Algorithm == algorithm && r.LastUsed == null)
            .OrderBy(r => r.KeyId)
            .FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (pending is not null)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return ToStoredKey(pending);
        }

        var passphrase = Passphrase(DefaultAlias);
        var key = TufSigningKey.Generate(algorithm);
        var plaintext = PrivateKeyCodec.Encode(key);
        string jwe;
        try
        {
            jwe = Jwe.Encrypt(plaintext, passphrase);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }

        var now = _time.GetUtcNow().UtcDateTime;
        var row = new PrivateKeyRow
        {
            CreatedAt = now,
            UpdatedAt = now,
            KeyId = key.PublicKey.Id,
            EncryptionAlg = Jwe.EncryptionAlgorithm,
            KeywrapAlg = Jwe.KeyWrapAlgorithm,
            Algorithm = algorithm,
            PassphraseAlias = DefaultAlias,
            Public = key.PublicKey.Public,
            Private = Encoding.ASCII.GetBytes(jwe),
            Gun = gun,
            Role = role,
        };
        context.AllPrivateKeys.Add(row);
        await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        var stored = ToStoredKey(row);
        _cache[stored.KeyId] = new CachedKey(stored, key, null);
        LogKeyCreated(_logger, stored.KeyId, gun, role, algorithm);
        return stored;
    }

    /// <summary>
    /// The key with this ID, or null when there is no (undeleted) row for it. Decrypts the key, as notary-signer does,
    /// and throws <see cref="KeyStoreException"/> when that fails — notary-signer's GetKeyInfo reports such failures
    /// as NOT_FOUND; callers that mirror it catch the exception. Does not mark the key used.
    /// </summary>
    public async Task<StoredKey?> GetKeyInfoAsync(string keyId, CancellationToken cancellationToken = default)
    {
        var cached = await LoadAsync(keyId, cancellationToken).ConfigureAwait(false);
        return cached?.Info;
    }

    /// <summary>
    /// Signs <paramref name="content"/> (the exact bytes, e.g. canonical JSON; ecdsa hashes with SHA-256) with the key
    /// and marks it active (<c>last_used</c> = now). Null when there is no such key; <see cref="KeyStoreException"/>
    /// when it cannot be decrypted (or a token key is no longer in the token); <see cref="Pkcs11TokenException"/> when
    /// the token failed.
    /// </summary>
    public async Task<StoredKeySignature?> SignAsync(string keyId, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        var cached = await LoadAsync(keyId, cancellationToken).ConfigureAwait(false);
        if (cached is null)
        {
            return null;
        }

        var signature = cached.ObjectId is null
            ? cached.Key!.Sign(content.Span)
            : await _token!.SignAsync(cached.ObjectId, cached.Info.Algorithm, content.Span, cancellationToken).ConfigureAwait(false)
                ?? throw new KeyStoreException($"key {keyId} is no longer in the PKCS#11 token");

        // last_used matters as "used at all" (pending vs active, signer.md §6): write it on this process's first
        // signature with the key and then at most once per LastUsedResolution, not on every signature.
        var now = _time.GetUtcNow();
        if (!_lastUsedWritten.TryGetValue(keyId, out var written) || now - written >= LastUsedResolution)
        {
            var utc = now.UtcDateTime;
            await RetryOnceAsync(nameof(SignAsync), async ct =>
            {
                await using var context = _contexts.Create();
                return cached.ObjectId is null
                    ? await context.PrivateKeys
                        .Where(r => r.KeyId == keyId)
                        .ExecuteUpdateAsync(s => s.SetProperty(r => r.LastUsed, utc).SetProperty(r => r.UpdatedAt, utc), ct)
                        .ConfigureAwait(false)
                    : await context.HsmKeys
                        .Where(r => r.KeyId == keyId)
                        .ExecuteUpdateAsync(s => s.SetProperty(r => r.LastUsed, utc).SetProperty(r => r.UpdatedAt, utc), ct)
                        .ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);

            _lastUsedWritten[keyId] = now;
        }

        return new StoredKeySignature(cached.Info, SignatureMethod.ForKeyType(cached.Info.Algorithm), signature);
    }

    /// <summary>
    /// Soft-deletes the key (sets <c>deleted_at</c>); unknown IDs are fine (signer.md §3, DeleteKey). A token key's
    /// objects stay in the token, as a JWE key's row stays in the table.
    /// </summary>
    public async Task DeleteKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        var now = _time.GetUtcNow().UtcDateTime;
        await RetryOnceAsync(nameof(DeleteKeyAsync), async ct =>
        {
            await using var context = _contexts.Create();
            return await context.PrivateKeys
                .Where(r => r.KeyId == keyId)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.DeletedAt, now).SetProperty(r => r.UpdatedAt, now), ct)
                .ConfigureAwait(false)
                + await context.HsmKeys
                .Where(r => r.KeyId == keyId)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.DeletedAt, now).SetProperty(r => r.UpdatedAt, now), ct)
                .ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        // Not disposed: a concurrent Sign may still hold it.
        _cache.TryRemove(keyId, out _);
    }

    /// <summary>
    /// Re-encrypts every undeleted key not already under <paramref name="newAlias"/> with that alias's passphrase and
    /// records the alias in <c>passphrase_alias</c> (notary-signer's <c>RotateKeyPassphrase</c>, for all keys). One
    /// transaction: all rows or none. Returns the number of rows re-encrypted.
    /// </summary>
    /// <exception cref="PassphraseUnavailableException">The new alias, or the alias of some row, has no passphrase.</exception>
    /// <exception cref="KeyDecryptionException">Some row cannot be decrypted with its alias's passphrase.</exception>
    public Task<int> ReencryptAllAsync(string newAlias, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(newAlias);
        var newPassphrase = Passphrase(newAlias);
        return RetryOnceAsync(nameof(ReencryptAllAsync), ct => ReencryptAllOnceAsync(newAlias, newPassphrase, ct), cancellationToken);
    }

    private async Task<int> ReencryptAllOnceAsync(string newAlias, string newPassphrase, CancellationToken cancellationToken)
    {
        await using var context = _contexts.Create();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var rows = await context.PrivateKeys
            .Where(r => r.PassphraseAlias != newAlias)
            .OrderBy(r => r.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow().UtcDateTime;
        foreach (var row in rows)
        {
            var plaintext = Decrypt(row);
            try
            {
                // Decode to prove the plaintext is a valid key of the row before writing it under the new passphrase.
                using (PrivateKeyCodec.Decode(row.Algorithm, plaintext))
                {
                }

                row.Private = Encoding.ASCII.GetBytes(Jwe.Encrypt(plaintext, newPassphrase));
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            row.PassphraseAlias = newAlias;
            row.UpdatedAt = now;
        }

        await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        LogReencrypted(_logger, rows.Count, newAlias);
        return rows.Count;
    }

    private async Task<CachedKey?> LoadAsync(string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        if (_cache.TryGetValue(keyId, out var cached))
        {
            return cached;
        }

        var (row, hsmRow) = await RetryOnceAsync(nameof(LoadAsync), async ct =>
        {
            await using var context = _contexts.Create();
            var jwe = await context.PrivateKeys.AsNoTracking().FirstOrDefaultAsync(r => r.KeyId == keyId, ct).ConfigureAwait(false);
            return (jwe, jwe is null ? await context.HsmKeys.AsNoTracking().FirstOrDefaultAsync(r => r.KeyId == keyId, ct).ConfigureAwait(false) : null);
        }, cancellationToken).ConfigureAwait(false);

        if (hsmRow is not null)
        {
            return await LoadTokenKeyAsync(hsmRow, cancellationToken).ConfigureAwait(false);
        }

        if (row is null)
        {
            return null;
        }

        try
        {
            var plaintext = Decrypt(row);
            TufSigningKey key;
            try
            {
                key = PrivateKeyCodec.Decode(row.Algorithm, plaintext);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }

            if (!key.PublicKey.Public.AsSpan().SequenceEqual(row.Public))
            {
                key.Dispose();
                throw new KeyDecryptionException($"private key {row.KeyId} does not match its stored public key");
            }

            return _cache.GetOrAdd(keyId, new CachedKey(ToStoredKey(row), key, null));
        }
        catch (KeyStoreException ex)
        {
            LogKeyLoadFailed(_logger, keyId, row.PassphraseAlias, ex.Message);
            throw;
        }
    }

    // A token key: usable when the configured token holds its public key with the stored bytes (and so, by CKA_ID, its private key).
    private async Task<CachedKey> LoadTokenKeyAsync(HsmKeyRow row, CancellationToken cancellationToken)
    {
        try
        {
            if (_token is null)
            {
                throw new KeyStoreException($"key {row.KeyId} is in a PKCS#11 token, but Keys:Backend is not Pkcs11");
            }

            var inToken = await _token.ReadPublicKeyAsync(row.ObjectId, row.Algorithm, cancellationToken).ConfigureAwait(false);
            if (inToken is null || !inToken.AsSpan().SequenceEqual(row.Public))
            {
                throw new KeyStoreException($"key {row.KeyId} ({row.ObjectLabel}) is not in the PKCS#11 token {_token.TokenLabel}");
            }

            return _cache.GetOrAdd(row.KeyId, new CachedKey(ToStoredKey(row), null, row.ObjectId));
        }
        catch (KeyStoreException ex)
        {
            LogKeyLoadFailed(_logger, row.KeyId, "pkcs11", ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="operation"/>; after a transient PostgreSQL failure clears the connection pool (its other
    /// idle connections are as dead as the one that failed) and runs it once more. See the class remarks for why
    /// every operation passed here may run twice.
    /// </summary>
    private async Task<T> RetryOnceAsync<T>(string operation, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        try
        {
            return await attempt(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (StorageErrors.IsTransient(ex) && !cancellationToken.IsCancellationRequested)
        {
            LogRetrying(_logger, ex, operation);
            _contexts.ClearPool();
            return await attempt(cancellationToken).ConfigureAwait(false);
        }
    }

    private byte[] Decrypt(PrivateKeyRow row)
    {
        var passphrase = Passphrase(row.PassphraseAlias);

        // Non-ASCII bytes become '?', which the JWE parser rejects as malformed.
        var compact = Encoding.ASCII.GetString(row.Private);

        try
        {
            return Jwe.Decrypt(compact, passphrase);
        }
        catch (KeyDecryptionException ex)
        {
            throw new KeyDecryptionException($"private key {row.KeyId} cannot be decrypted: {ex.Message}", ex);
        }
    }

    private string Passphrase(string alias)
    {
        var passphrase = _passphrases.GetPassphrase(alias);
        return string.IsNullOrEmpty(passphrase) ? throw new PassphraseUnavailableException(alias) : passphrase;
    }

    private static StoredKey ToStoredKey(PrivateKeyRow row) => new(row.KeyId, row.Algorithm, row.Public, row.Gun, row.Role);

    private static StoredKey ToStoredKey(HsmKeyRow row) => new(row.KeyId, row.Algorithm, row.Public, row.Gun, row.Role);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Created {Algorithm} key {KeyId} for {Gun} {Role}")]
    private static partial void LogKeyCreated(ILogger logger, string keyId, string gun, string role, string algorithm);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "Key {KeyId} (passphrase alias {Alias}) cannot be loaded: {Reason}")]
    private static partial void LogKeyLoadFailed(ILogger logger, string keyId, string alias, string reason);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Information, Message = "Re-encrypted {Count} keys under passphrase alias {Alias}")]
    private static partial void LogReencrypted(ILogger logger, int count, string alias);

    [LoggerMessage(EventId = 3024, Level = LogLevel.Warning, Message = "Key store {Operation} failed on a transient database error; retrying once on a new connection")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string operation);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Created {Algorithm} key {KeyId} for {Gun} {Role} in the PKCS#11 token as {ObjectLabel}")]
    private static partial void LogTokenKeyCreated(ILogger logger, string keyId, string gun, string role, string algorithm, string objectLabel);

    // Key: a decrypted JWE key; ObjectId: the CKA_ID of a token key (exactly one is set).
    private sealed record CachedKey(StoredKey Info, TufSigningKey? Key, byte[]? ObjectId);
}

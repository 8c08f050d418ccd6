using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;

namespace TrustServer.Signing.Keys;

/// <summary>
/// A notary-signer <c>private_keys</c> row to copy into this key store verbatim (spec signer.md §5): the JWE stays
/// encrypted under its passphrase alias; times are UTC.
/// </summary>
public sealed record ImportedKey(
    string KeyId,
    string EncryptionAlg,
    string KeywrapAlg,
    string Algorithm,
    string PassphraseAlias,
    byte[] Public,
    byte[] Private,
    string Gun,
    string Role,
    DateTime? CreatedAt,
    DateTime? UpdatedAt,
    DateTime? DeletedAt,
    DateTime? LastUsed);

/// <summary>What <see cref="KeyStore.ImportAsync"/> did (or would do); with conflicts nothing was written.</summary>
public sealed record KeyImportResult(int Added, int Skipped, IReadOnlyList<string> Conflicts);

/// <summary>The import of another notary-signer database's keys (<c>import notary-signer-keys</c>).</summary>
public sealed partial class KeyStore
{
    /// <summary>
    /// Copies <paramref name="keys"/> in one transaction (all or nothing): a key ID already stored for the same
    /// public key is skipped (also when it was re-encrypted since), for another public key is a conflict and nothing
    /// is written. Soft-deleted rows are copied as such. <paramref name="dryRun"/> rolls back.
    /// </summary>
    public async Task<KeyImportResult> ImportAsync(IReadOnlyList<ImportedKey> keys, bool dryRun, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        await using var context = _contexts.Create();
        await using var transaction = await context.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var ids = keys.Select(k => k.KeyId).ToList();
        var stored = await context.AllPrivateKeys.AsNoTracking()
            .Where(r => ids.Contains(r.KeyId))
            .ToDictionaryAsync(r => r.KeyId, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
        var conflicts = new List<string>();
        var added = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (!seen.Add(key.KeyId))
            {
                conflicts.Add($"key {key.KeyId} twice in the source");
            }
            else if (stored.TryGetValue(key.KeyId, out var row))
            {
                if (row.Algorithm != key.Algorithm || !row.Public.AsSpan().SequenceEqual(key.Public))
                {
                    conflicts.Add($"key {key.KeyId} is stored with another {row.Algorithm} public key");
                }
            }
            else
            {
                added++;
                context.AllPrivateKeys.Add(ToRow(key));
            }
        }

        if (conflicts.Count > 0)
        {
            return new KeyImportResult(0, 0, conflicts);
        }

        await context.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        if (!dryRun)
        {
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        return new KeyImportResult(added, keys.Count - added, []);
    }

    // The private_keys row of an imported key, column for column (the JWE is copied as is).
    private static PrivateKeyRow ToRow(ImportedKey key) => new()
    {
        CreatedAt = key.CreatedAt,
        UpdatedAt = key.UpdatedAt,
        DeletedAt = key.DeletedAt,
        KeyId = key.KeyId,
        EncryptionAlg = key.EncryptionAlg,
        KeywrapAlg = key.KeywrapAlg,
        Algorithm = key.Algorithm,
        PassphraseAlias = key.PassphraseAlias,
        Public = key.Public,
        Private = key.Private,
        Gun = key.Gun,
        Role = key.Role,
        LastUsed = key.LastUsed,
    };

    /// <summary>
    /// Null when this process can use <paramref name="key"/> (its alias's passphrase decrypts it and the plaintext is
    /// the private key of its public key), otherwise why not. Never returns key material.
    /// </summary>
    public string? CheckUsable(ImportedKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        try
        {
            var plaintext = Decrypt(ToRow(key));
            try
            {
                using var decoded = PrivateKeyCodec.Decode(key.Algorithm, plaintext);
                return decoded.PublicKey.Public.AsSpan().SequenceEqual(key.Public) ? null : $"private key {key.KeyId} does not match its stored public key";
            }
            finally
            {
                CryptographicOperations.ZeroMemory(plaintext);
            }
        }
        catch (KeyStoreException ex)
        {
            return ex.Message;
        }
    }
}

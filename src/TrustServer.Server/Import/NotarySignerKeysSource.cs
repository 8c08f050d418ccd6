using System.Data.Common;
using TrustServer.Signing.Keys;

namespace TrustServer.Server.Import;

/// <summary>Reads notary-signer's <c>private_keys</c> rows (spec signer.md §5), JWE verbatim, for <c>import notary-signer-keys</c>.</summary>
public static class NotarySignerKeysSource
{
    private static readonly string[] Columns =
        ["key_id", "encryption_alg", "keywrap_alg", "algorithm", "passphrase_alias", "public", "private", "gun", "role", "created_at", "updated_at", "deleted_at", "last_used"];

    /// <summary>Every row, soft-deleted ones included, in id order; <see cref="ImportSourceException"/> when unreachable or not notary-signer's schema.</summary>
    public static async Task<IReadOnlyList<ImportedKey>> ReadAsync(NotaryDatabase database, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await database.RequireTableAsync(connection, "private_keys", "notary-signer", Columns, cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {string.Join(", ", Columns)} FROM private_keys ORDER BY id";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var keys = new List<ImportedKey>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                keys.Add(new ImportedKey(
                    reader.GetString(0),
                    reader.GetString(1),
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.GetString(4),
                    (byte[])reader.GetValue(5),
                    (byte[])reader.GetValue(6),
                    reader.GetString(7),
                    reader.GetString(8),
                    Utc(reader, 9),
                    Utc(reader, 10),
                    Utc(reader, 11),
                    Utc(reader, 12)));
            }

            return keys;
        }
        catch (DbException ex)
        {
            throw new ImportSourceException($"cannot read {database.Description}: {ex.Message}", ex);
        }
    }

    private static DateTime? Utc(DbDataReader reader, int ordinal) => NotaryDatabase.ReadUtc(reader, ordinal)?.UtcDateTime;
}

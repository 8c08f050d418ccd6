using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using TrustServer.Data.Model;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Providers;

/// <summary>What the one-round-trip commit found: committed, or the stored state that refused it.</summary>
/// <param name="Committed">Whether the files, changefeed record and audit entry were stored.</param>
/// <param name="StoredTimestampVersion">The highest stored timestamp version, as read under the lock.</param>
/// <param name="TimestampChecksumMatched">False when the caller gave the expected timestamp's SHA-256 and the stored one differs.</param>
/// <param name="OldRole">When refused for an old version: a role of the update whose version is not above the stored one.</param>
/// <param name="OldVersion">That role's version in the update.</param>
internal readonly record struct SqlCommitResult(bool Committed, long? StoredTimestampVersion, bool TimestampChecksumMatched, string? OldRole, long? OldVersion);

/// <summary>
/// An update committed on PostgreSQL in one round trip: one batch, run by the server as one implicit transaction.
/// The first statement takes the GUN's advisory lock; the second — which, in READ COMMITTED, takes its snapshot only
/// once the lock is held and so sees the previous holder's commit — checks the versions (the stored timestamp is the
/// one the validation saw, by version and, when given, by SHA-256; every role's version is above its stored one) and, only when they hold, inserts the files,
/// the changefeed record of the timestamp and the audit entry and queues the notification naming the GUN. Its CTEs
/// all read the snapshot from before the inserts (the data-modifying ones run whether read or not; the notification's
/// is read by the final SELECT). A refused update inserts nothing and notifies nobody; a failed
/// statement rolls the whole batch back. The statements are prepared (Npgsql's automatic preparation, see
/// <c>DataServiceCollectionExtensions</c>), and nothing is change-tracked.
/// </summary>
/// <remarks>
/// This is the publish path's commit when no webhook endpoint wants the event (the webhook outbox row carries the
/// changefeed id in its body, composed in .NET after the insert, so that case stays on the EF path). It must stay
/// equivalent to <c>EfMetadataStore.CommitAsync</c>'s EF path, which SQLite always uses: the Data tests run the same
/// cases on both providers.
/// </remarks>
internal static class PostgresCommit
{
    private const string LockSql = "SELECT pg_advisory_xact_lock($1)";

    // $1 gun, $2 expected timestamp version (null: none stored), $3 roles, $4 versions, $5 data, $6 sha256s, $7 time,
    // $8.. the audit entry, $15 the notification channel, $16 the expected timestamp's sha256 (null: not checked).
    private const string CommitSql = $"""
        WITH checked AS (
            SELECT latest.version AS stored_timestamp,
                   ($16::text IS NULL OR latest.sha256 IS NOT DISTINCT FROM $16::text) AS checksum_matched,
                   old.role AS old_role, old.version AS old_version
            FROM (SELECT 1) AS one
            LEFT JOIN LATERAL (
                SELECT t.version, t.sha256 FROM tuf_files AS t WHERE t.gun = $1 AND t.role = '{RoleName.Timestamp}'
                ORDER BY t.version DESC LIMIT 1) AS latest ON TRUE
            LEFT JOIN LATERAL (
                SELECT u.role, u.version FROM unnest($3::text[], $4::bigint[]) AS u(role, version)
                WHERE u.version <= (SELECT MAX(m.version) FROM tuf_files AS m WHERE m.gun = $1 AND m.role = u.role)
                LIMIT 1) AS old ON TRUE
        ), ok AS (
            SELECT stored_timestamp, checksum_matched, old_role, old_version,
                   stored_timestamp IS NOT DISTINCT FROM $2::bigint AND checksum_matched AND old_role IS NULL AS ok
            FROM checked
        ), files AS (
            INSERT INTO tuf_files (created_at, gun, role, version, data, sha256)
            SELECT $7, $1, u.role, u.version, u.data, u.sha256
            FROM ok, unnest($3::text[], $4::bigint[], $5::bytea[], $6::text[]) AS u(role, version, data, sha256)
            WHERE ok.ok
            RETURNING role, version, sha256
        ), changes AS (
            INSERT INTO changefeed (created_at, gun, version, sha256, category)
            SELECT $7, $1, f.version, f.sha256, '{ChangeEntity.UpdateCategory}' FROM files AS f WHERE f.role = '{RoleName.Timestamp}'
        ), audit AS (
            INSERT INTO audit_log (created_at, action, outcome, principal, remote_address, request_id, gun, files, detail)
            SELECT $7, $8, $9, $10, $11, $12, $1, $13, $14 FROM ok WHERE ok.ok
        ), notified AS (
            SELECT pg_notify($15, $1) FROM ok WHERE ok.ok
        )
        SELECT ok.ok, ok.stored_timestamp, ok.checksum_matched, ok.old_role, ok.old_version, (SELECT COUNT(*) FROM notified) FROM ok
        """;

    /// <summary>Runs the batch on <paramref name="db"/>'s connection (outside any transaction of its own).</summary>
    public static async Task<SqlCommitResult> CommitAsync(
        MetadataDbContext db, long lockKey, string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditEntry audit, DateTimeOffset now,
        string channel, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(LockSql) { Parameters = { new NpgsqlParameter<long> { TypedValue = lockKey } } },
                    new NpgsqlBatchCommand(CommitSql)
                    {
                        Parameters =
                        {
                            new NpgsqlParameter<string> { TypedValue = gun },
                            new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)expected.Version ?? DBNull.Value },
                            new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Role)] },
                            new NpgsqlParameter<long[]> { TypedValue = [.. files.Select(f => f.Version)] },
                            new NpgsqlParameter<byte[][]> { TypedValue = [.. files.Select(f => f.Data)] },
                            new NpgsqlParameter<string[]> { TypedValue = [.. files.Select(f => f.Sha256Hex)] },
                            new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                            new NpgsqlParameter<string> { TypedValue = audit.Action },
                            new NpgsqlParameter<string> { TypedValue = audit.Outcome },
                            new NpgsqlParameter<string> { TypedValue = MetadataDbContext.Cut(audit.Actor.Principal, AuditActor.MaxFieldLength)! },
                            Text(MetadataDbContext.Cut(audit.Actor.RemoteAddress, AuditActor.MaxFieldLength)),
                            Text(MetadataDbContext.Cut(audit.Actor.RequestId, AuditActor.MaxFieldLength)),
                            new NpgsqlParameter<string> { TypedValue = audit.Files },
                            Text(MetadataDbContext.Cut(audit.Detail, AuditEntry.MaxDetailLength)),
                            new NpgsqlParameter<string> { TypedValue = channel },
                            Text(expected.Sha256),
                        },
                    },
                },
            };
            if (db.Database.GetCommandTimeout() is { } timeout)
            {
                batch.Timeout = timeout;
            }

            try
            {
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException("The commit statement returned no row.");
                }

                return new SqlCommitResult(
                    reader.GetBoolean(0),
                    reader.IsDBNull(1) ? null : reader.GetInt64(1),
                    reader.GetBoolean(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetInt64(4));
            }
            catch (PostgresException ex)
            {
                // What the EF path's SaveChanges throws when the database refuses a row (a unique violation, a value
                // too long for its column): callers see one exception type for both paths.
                throw new DbUpdateException("The database refused the update; nothing was stored.", ex);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)value ?? DBNull.Value };
}

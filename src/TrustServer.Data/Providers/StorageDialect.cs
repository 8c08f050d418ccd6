using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using TrustServer.Tuf.Validation;

namespace TrustServer.Data.Providers;

/// <summary>What differs between the providers when writing: how writers of one GUN are serialized, and how a
/// unique-constraint violation looks.</summary>
internal abstract class StorageDialect
{
    /// <summary>
    /// Begins the write transaction of one GUN and returns only once this writer is the only one for that GUN
    /// (across processes and replicas), so that reads inside the transaction see every earlier committed write;
    /// returns the GUN's highest stored versions as read under that lock (<see cref="MetadataDbContext.ReadHighestVersionsAsync(string, CancellationToken)"/>).
    /// </summary>
    public abstract Task<(IDbContextTransaction Transaction, IReadOnlyDictionary<string, long> HighestVersions)> BeginWriteAsync(
        MetadataDbContext db, string gun, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="exception"/> (or an inner exception) is a UNIQUE constraint violation.</summary>
    public abstract bool IsUniqueViolation(Exception exception);

    /// <summary>
    /// Whether <see cref="CommitInOneRoundTripAsync"/> is available; if not, updates go through
    /// <see cref="BeginWriteAsync"/> (SQLite: a local file, where round trips cost no network).
    /// </summary>
    public virtual bool CommitsInOneRoundTrip => false;

    /// <summary>Commits an update in one round trip, the version checks done in SQL under the GUN's lock (<see cref="PostgresCommit"/>).</summary>
    public virtual Task<SqlCommitResult> CommitInOneRoundTripAsync(
        MetadataDbContext db, string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("This provider commits through BeginWriteAsync.");

    /// <summary>
    /// SQL that moves the changefeed's id generator so that the next generated id is above <c>{0}</c> and above every
    /// stored id, never backwards (imports insert records with explicit ids, which generators do not see).
    /// </summary>
    public abstract string ReserveChangeIdsSql { get; }

    /// <summary>The dialect of <paramref name="provider"/>.</summary>
    public static StorageDialect For(StorageProvider provider) => provider switch
    {
        StorageProvider.Postgres => PostgresDialect.Instance,
        StorageProvider.Sqlite => SqliteDialect.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown storage provider."),
    };

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T match)
            {
                return match;
            }
        }

        return null;
    }

    /// <summary>
    /// PostgreSQL: a transaction-scoped advisory lock keyed by a hash of the GUN. It is held until commit or
    /// rollback, so replicas writing the same GUN queue up, and different GUNs (barring a 2^-64 collision, which
    /// only costs a wait) proceed in parallel. READ COMMITTED then makes every later statement in the transaction
    /// see the previous holder's commit.
    /// </summary>
    private sealed class PostgresDialect : StorageDialect
    {
        public static readonly PostgresDialect Instance = new();

        // Separates our keys from other users of the bigint advisory-lock space in a shared database.
        private const string LockNamespace = "trustserver/metadata/gun:";

        // One round trip (one batch): the lock (and the notification naming the GUN, delivered at commit, dropped on
        // rollback: the read caches of every replica drop that GUN — IChangeSignal), then the highest
        // versions. In READ COMMITTED each statement takes its own snapshot, so the second one, which starts only once
        // the lock is held, sees the previous holder's commit. The query of MetadataDbContext.ReadHighestVersionsAsync.
        private const string LockStatement = "SELECT pg_advisory_xact_lock($1), pg_notify($2, $3)";

        public override async Task<(IDbContextTransaction Transaction, IReadOnlyDictionary<string, long> HighestVersions)> BeginWriteAsync(
            MetadataDbContext db, string gun, CancellationToken cancellationToken)
        {
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var connection = (NpgsqlConnection)db.Database.GetDbConnection();
                await using var batch = new NpgsqlBatch(connection, (NpgsqlTransaction)transaction.GetDbTransaction())
                {
                    BatchCommands =
                    {
                        new NpgsqlBatchCommand(LockStatement)
                        {
                            Parameters =
                            {
                                new NpgsqlParameter<long> { TypedValue = LockKey(gun) },
                                new NpgsqlParameter<string> { TypedValue = IChangeSignal.Channel },
                                new NpgsqlParameter<string> { TypedValue = gun },
                            },
                        },
                        new NpgsqlBatchCommand(MetadataDbContext.HighestVersionsSql)
                        {
                            Parameters = { new NpgsqlParameter<string>("gun", gun) },
                        },
                    },
                };
                if (db.Database.GetCommandTimeout() is { } timeout)
                {
                    batch.Timeout = timeout;
                }

                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                return (transaction, await MetadataDbContext.ReadHighestVersionsAsync(reader, cancellationToken).ConfigureAwait(false));
            }
            catch
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public override bool IsUniqueViolation(Exception exception) =>
            Find<PostgresException>(exception)?.SqlState == PostgresErrorCodes.UniqueViolation;

        public override bool CommitsInOneRoundTrip => true;

        public override Task<SqlCommitResult> CommitInOneRoundTripAsync(
            MetadataDbContext db, string gun, ExpectedTimestamp expected, IReadOnlyList<MetadataFile> files, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken) =>
            PostgresCommit.CommitAsync(db, LockKey(gun), gun, expected, files, audit, now, IChangeSignal.Channel, cancellationToken);

        // nextval consumes one id (a gap, as any rolled-back insert leaves): it is what makes this never go backwards.
        public override string ReserveChangeIdsSql => """
            SELECT setval(pg_get_serial_sequence('changefeed', 'id'),
                GREATEST({0}, (SELECT COALESCE(MAX(id), 0) FROM changefeed), nextval(pg_get_serial_sequence('changefeed', 'id'))))
            """;

        internal static long LockKey(string gun) =>
            BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(LockNamespace + gun)));
    }

    /// <summary>
    /// SQLite: <c>BEGIN IMMEDIATE</c> takes the database write lock before the transaction reads anything, so
    /// writers (connections, processes) are serialized for the whole database; waiting writers retry until the
    /// connection's default timeout (Microsoft.Data.Sqlite's busy handling).
    /// </summary>
    private sealed class SqliteDialect : StorageDialect
    {
        public static readonly SqliteDialect Instance = new();

        // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (extended result codes).
        private const int ConstraintUnique = 2067;
        private const int ConstraintPrimaryKey = 1555;

        public override async Task<(IDbContextTransaction Transaction, IReadOnlyDictionary<string, long> HighestVersions)> BeginWriteAsync(
            MetadataDbContext db, string gun, CancellationToken cancellationToken)
        {
            await db.Database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var connection = (SqliteConnection)db.Database.GetDbConnection();

            // deferred: false = BEGIN IMMEDIATE (a deferred transaction would take the lock only at its first write,
            // after our version check read).
            var transaction = connection.BeginTransaction(deferred: false);
            try
            {
                var enlisted = await db.Database.UseTransactionAsync(transaction, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("EF Core did not enlist the SQLite transaction.");
                return (enlisted, await db.ReadHighestVersionsAsync(gun, cancellationToken).ConfigureAwait(false));
            }
            catch
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public override bool IsUniqueViolation(Exception exception) =>
            Find<SqliteException>(exception)?.SqliteExtendedErrorCode is ConstraintUnique or ConstraintPrimaryKey;

        // AUTOINCREMENT tables take max(rowid, sqlite_sequence.seq) + 1; the row exists once the table had a row.
        public override string ReserveChangeIdsSql => """
            UPDATE sqlite_sequence SET seq = MAX(seq, {0}, (SELECT COALESCE(MAX(id), 0) FROM changefeed)) WHERE name = 'changefeed';
            INSERT INTO sqlite_sequence (name, seq) SELECT 'changefeed', MAX({0}, (SELECT COALESCE(MAX(id), 0) FROM changefeed))
                WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'changefeed');
            """;
    }
}

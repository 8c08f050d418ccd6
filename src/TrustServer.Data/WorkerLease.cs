using Npgsql;

namespace TrustServer.Data;

/// <summary>
/// Makes one replica at a time the worker of a background job over the shared database (the re-signer): PostgreSQL, a
/// session-level advisory lock held on a dedicated connection; SQLite, the single process that opens the file
/// always holds it. Not thread-safe: one job's loop owns it.
/// </summary>
public interface IWorkerLease : IAsyncDisposable
{
    /// <summary>
    /// Whether this process holds the lease now: takes it when free, and checks that a lease taken before is still
    /// held (its connection answers). Returns false when another replica holds it or the database cannot be
    /// reached (a lost connection releases the lock); the caller stops working and asks again later.
    /// </summary>
    Task<bool> TryHoldAsync(CancellationToken cancellationToken);
}

/// <summary>Creates the lease of a named background job on the metadata database.</summary>
public interface IWorkerLeases
{
    /// <summary>A lease for the job <paramref name="job"/>; every replica asking for the same name competes for one lease.</summary>
    IWorkerLease Create(string job);
}

/// <summary>SQLite: the process is the only writer of its file, so it always holds the lease.</summary>
internal sealed class ProcessWorkerLeases : IWorkerLeases
{
    public IWorkerLease Create(string job) => new Held();

    private sealed class Held : IWorkerLease
    {
        public Task<bool> TryHoldAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

/// <summary>PostgreSQL: <c>pg_try_advisory_lock(int, int)</c> on an unpooled connection kept open while held.</summary>
internal sealed class PostgresWorkerLeases(string connectionString) : IWorkerLeases
{
    // The two-int key space: never conflicts with the bigint keys of the per-GUN write locks (StorageDialect).
    private const int KeyClass = 0x54525356; // "TRSV"

    // Unpooled: the lock lives exactly as long as this session.
    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;

    public IWorkerLease Create(string job) => new AdvisoryLease(_connectionString, StableHash(job));

    // string.GetHashCode differs per process; every replica must compute the same key.
    private static int StableHash(string text)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        return BitConverter.ToInt32(hash, 0);
    }

    private sealed class AdvisoryLease(string connectionString, int key) : IWorkerLease
    {
        private NpgsqlConnection? _connection;

        public async Task<bool> TryHoldAsync(CancellationToken cancellationToken)
        {
            try
            {
                if (_connection is not null)
                {
                    await using var ping = new NpgsqlCommand("SELECT 1", _connection);
                    await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                    return true;
                }

                var connection = new NpgsqlConnection(connectionString);
                try
                {
                    await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                    await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", connection)
                    {
                        Parameters = { new NpgsqlParameter<int> { TypedValue = KeyClass }, new NpgsqlParameter<int> { TypedValue = key } },
                    };
                    if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                    {
                        _connection = connection;
                        return true;
                    }
                }
                catch
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    throw;
                }

                await connection.DisposeAsync().ConfigureAwait(false);
                return false;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The session (and with it the lock) is gone or was never had.
                await DisposeAsync().ConfigureAwait(false);
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_connection is { } connection)
            {
                _connection = null;
                await connection.DisposeAsync().ConfigureAwait(false); // closing the session releases the lock
            }
        }
    }
}

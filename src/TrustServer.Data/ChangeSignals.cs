using Npgsql;

namespace TrustServer.Data;

/// <summary>No notifications (SQLite): waiters simply poll the changefeed every timeout.</summary>
internal sealed class PollingChangeSignal : IChangeSignal
{
    public Task ListenAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<ChangeNotice> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
        return ChangeNotice.None;
    }
}

/// <summary>
/// PostgreSQL LISTEN on a dedicated, unpooled connection: opened by <see cref="ListenAsync"/> (or the first wait),
/// closed after any failure (the failure is thrown so that the caller treats everything as possibly changed).
/// Notifications are raised on the thread that reads the connection (LISTEN or a wait), so the collected names
/// need no lock; they are kept until a wait hands them out.
/// </summary>
internal sealed class PostgresChangeSignal(string connectionString) : IChangeSignal, IAsyncDisposable
{
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(1);

    // Unpooled: a new LISTEN is a new session, never an idle pooled connection that a database restart broke.
    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
    private readonly HashSet<string> _named = new(StringComparer.Ordinal);
    private NpgsqlConnection? _connection;
    private bool _unnamed;

    public async Task ListenAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync().ConfigureAwait(false);
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            connection.Notification += (_, e) =>
            {
                if (e.Payload.Length == 0)
                {
                    _unnamed = true;
                }
                else
                {
                    _named.Add(e.Payload);
                }
            };
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using (var listen = new NpgsqlCommand($"LISTEN {IChangeSignal.Channel}", connection))
            {
                await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _connection = connection;
    }

    public async Task<ChangeNotice> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            if (_connection is null)
            {
                await ListenAsync(cancellationToken).ConfigureAwait(false);
            }

            if (_named.Count == 0 && !_unnamed)
            {
                // Npgsql reads a timeout that rounds to 0 ms as "no timeout".
                await _connection!.WaitAsync(timeout < MinimumWait ? MinimumWait : timeout, cancellationToken).ConfigureAwait(false);
            }

            var notice = _named.Count == 0 && !_unnamed ? ChangeNotice.None : new ChangeNotice([.. _named], _unnamed);
            _named.Clear();
            _unnamed = false;
            return notice;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }
    }
}

using Npgsql;

namespace TrustServer.Data;

/// <summary>No notifications (SQLite): waiters simply poll the changefeed every timeout.</summary>
internal sealed class PollingChangeSignal : IChangeSignal
{
    public async Task<ChangeNotice> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
        return ChangeNotice.None;
    }
}

/// <summary>
/// PostgreSQL LISTEN on a dedicated connection, opened on first use and reopened after any failure (the failure
/// is thrown so that the caller treats everything as possibly changed). Notifications are raised on the thread
/// that waits, so the collected names need no lock.
/// </summary>
internal sealed class PostgresChangeSignal(string connectionString) : IChangeSignal, IAsyncDisposable
{
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(1);

    private readonly HashSet<string> _named = new(StringComparer.Ordinal);
    private NpgsqlConnection? _connection;
    private bool _unnamed;

    public async Task<ChangeNotice> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            if (_connection is null)
            {
                var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
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
                await using (var listen = new NpgsqlCommand($"LISTEN {IChangeSignal.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                _connection = connection;
            }

            _named.Clear();
            _unnamed = false;
            // Npgsql reads a timeout that rounds to 0 ms as "no timeout".
            await _connection.WaitAsync(timeout < MinimumWait ? MinimumWait : timeout, cancellationToken).ConfigureAwait(false);
            return _named.Count == 0 && !_unnamed ? ChangeNotice.None : new ChangeNotice([.. _named], _unnamed);
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

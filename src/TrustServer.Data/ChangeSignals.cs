using Npgsql;

namespace TrustServer.Data;

/// <summary>No notifications (SQLite): waiters simply poll the changefeed every timeout.</summary>
internal sealed class PollingChangeSignal : IChangeSignal
{
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        await Task.Delay(timeout, cancellationToken).ConfigureAwait(false);
        return false;
    }
}

/// <summary>
/// PostgreSQL LISTEN on a dedicated connection, opened on first use and reopened after any failure (the failure
/// is thrown so that the caller treats everything as possibly changed).
/// </summary>
internal sealed class PostgresChangeSignal(string connectionString) : IChangeSignal, IAsyncDisposable
{
    private NpgsqlConnection? _connection;
    private bool _notified;

    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            if (_connection is null)
            {
                var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                connection.Notification += (_, _) => _notified = true;
                await using (var listen = new NpgsqlCommand($"LISTEN {IChangeSignal.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                _connection = connection;
            }

            _notified = false;
            await _connection.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return _notified;
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

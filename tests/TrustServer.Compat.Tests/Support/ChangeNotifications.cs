using Npgsql;
using TrustServer.Data;

namespace TrustServer.Compat.Tests.Support;

/// <summary>
/// Waits for the change notifications already sent on a PostgreSQL database to reach the replicas' read caches, so
/// that a test can fill a cache knowing that no invalidation of an earlier commit is still on its way.
/// </summary>
internal static class ChangeNotifications
{
    /// <summary>
    /// Sends a marker notification on the replicas' channel and waits until it comes back: PostgreSQL delivers the
    /// notifications of committed transactions in commit order, so by then every earlier one has been delivered to
    /// the listening replicas as well. Then gives them <paramref name="apply"/> (default 500 ms) to act on what they
    /// received. Replicas that should learn of changes only this way are started with a long
    /// <c>Caching:Memory:ChangefeedPollSeconds</c> (a changefeed poll drops the GUNs of recent changes again).
    /// </summary>
    public static async Task SettleAsync(string connectionString, TimeSpan? apply = null)
    {
        var marker = $"test-marker/{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Notification += (_, e) =>
        {
            if (e.Payload == marker)
            {
                received.TrySetResult();
            }
        };

        await using (var listen = new NpgsqlCommand($"LISTEN {IChangeSignal.Channel}", connection))
        {
            await listen.ExecuteNonQueryAsync();
        }

        await using (var notify = new NpgsqlCommand("SELECT pg_notify(@channel, @marker)", connection))
        {
            notify.Parameters.AddWithValue("channel", IChangeSignal.Channel);
            notify.Parameters.AddWithValue("marker", marker);
            await notify.ExecuteNonQueryAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!received.Task.IsCompleted)
        {
            await connection.WaitAsync(timeout.Token);
        }

        await Task.Delay(apply ?? TimeSpan.FromMilliseconds(500));
    }
}

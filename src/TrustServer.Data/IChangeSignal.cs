namespace TrustServer.Data;

/// <summary>
/// Wakes readers of the changefeed as soon as another process may have written one (PostgreSQL LISTEN/NOTIFY on
/// <see cref="Channel"/>; every write transaction notifies at commit). It is only a hint: waiters still read the
/// changefeed, and they also wake up after their timeout, so a lost notification only delays them.
/// </summary>
public interface IChangeSignal
{
    /// <summary>The PostgreSQL notification channel.</summary>
    const string Channel = "trustserver_changes";

    /// <summary>Waits until a change may have happened or <paramref name="timeout"/> passed; true when notified.</summary>
    Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

namespace TrustServer.Data;

/// <summary>
/// Wakes readers of the changefeed as soon as another process may have written one (PostgreSQL LISTEN/NOTIFY on
/// <see cref="Channel"/>; every write transaction notifies at commit, naming its GUN). It is only a hint: waiters
/// still read the changefeed now and then, so a lost notification only delays them.
/// </summary>
public interface IChangeSignal
{
    /// <summary>The PostgreSQL notification channel; the payload is the GUN written.</summary>
    const string Channel = "trustserver_changes";

    /// <summary>
    /// (Re)starts listening on a new connection (the previous one, if any, is closed): once this returns, every
    /// change committed afterwards is notified to <see cref="WaitAsync"/>. Throws when the database cannot be
    /// reached. A follower of the changefeed calls it after any failure, before it reads the changefeed again, so
    /// that no change falls between the two.
    /// </summary>
    Task ListenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Waits until a change may have happened or <paramref name="timeout"/> passed (returns at once when
    /// notifications arrived since the last wait). Listens first when not listening. Throws when the listening
    /// connection fails; the next call listens again, but changes committed in between were not notified.
    /// </summary>
    Task<ChangeNotice> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

/// <summary>What one wait for <see cref="IChangeSignal"/> heard.</summary>
/// <param name="Guns">The GUNs that notifications named: committed writes of these repositories.</param>
/// <param name="Unnamed">A notification named no GUN (a writer that does not say): anything may have changed.</param>
public sealed record ChangeNotice(IReadOnlyCollection<string> Guns, bool Unnamed)
{
    /// <summary>Nothing heard before the timeout.</summary>
    public static readonly ChangeNotice None = new([], false);
}

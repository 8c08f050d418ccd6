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

    /// <summary>Waits until a change may have happened or <paramref name="timeout"/> passed.</summary>
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

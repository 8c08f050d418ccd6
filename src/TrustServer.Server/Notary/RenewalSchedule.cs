namespace TrustServer.Server.Notary;

/// <summary>
/// The background re-signer's in-memory schedule: for every repository it renews, when its next renewal falls due
/// and when its earliest server-managed file expires. Not thread-safe (the re-signer's loop owns it).
/// </summary>
internal sealed class RenewalSchedule
{
    // The due time of a repository handed out by TryTakeDue and not yet rescheduled: never in the queue.
    private static readonly DateTimeOffset Taken = DateTimeOffset.MaxValue;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    // Earliest due first; entries whose repository was rescheduled or removed since are dropped when they surface.
    private readonly PriorityQueue<string, DateTimeOffset> _queue = new();

    /// <summary>Repositories scheduled.</summary>
    public int Count => _entries.Count;

    /// <summary>When the earliest renewal falls due; null when nothing is scheduled.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            DropStale();
            return _queue.TryPeek(out _, out var due) ? due : null;
        }
    }

    /// <summary>The earliest expiry of any scheduled repository's server-managed files; null when none is known.</summary>
    public DateTimeOffset? EarliestExpiry => _entries.Values.Min(e => e.Expires);

    /// <summary>Whether the repository is scheduled.</summary>
    public bool Contains(string gun) => _entries.ContainsKey(gun);

    /// <summary>The known expiry of the repository's earliest server-managed file, if any.</summary>
    public DateTimeOffset? ExpiryOf(string gun) => _entries.TryGetValue(gun, out var entry) ? entry.Expires : null;

    /// <summary>Schedules (or reschedules) the repository.</summary>
    public void Set(string gun, DateTimeOffset due, DateTimeOffset? expires)
    {
        if (_entries.TryGetValue(gun, out var existing) && existing.Due == due)
        {
            _entries[gun] = existing with { Expires = expires };
            return;
        }

        _entries[gun] = new Entry(due, expires);
        _queue.Enqueue(gun, due);
    }

    /// <summary>Forgets every repository.</summary>
    public void Clear()
    {
        _entries.Clear();
        _queue.Clear();
    }

    /// <summary>Forgets the repository.</summary>
    public void Remove(string gun) => _entries.Remove(gun);

    /// <summary>
    /// The repository whose renewal is due earliest, when that is at or before <paramref name="now"/>. It stays
    /// known (<see cref="Contains"/>, <see cref="ExpiryOf"/>) but is not handed out again until the caller
    /// reschedules it with <see cref="Set"/> (or removes it).
    /// </summary>
    public bool TryTakeDue(DateTimeOffset now, out string gun)
    {
        DropStale();
        if (_queue.TryPeek(out var next, out var due) && due <= now)
        {
            _queue.Dequeue();
            _entries[next] = _entries[next] with { Due = Taken };
            gun = next;
            return true;
        }

        gun = string.Empty;
        return false;
    }

    private void DropStale()
    {
        while (_queue.TryPeek(out var gun, out var due) && (!_entries.TryGetValue(gun, out var entry) || entry.Due != due))
        {
            _queue.Dequeue();
        }
    }

    private readonly record struct Entry(DateTimeOffset Due, DateTimeOffset? Expires);
}

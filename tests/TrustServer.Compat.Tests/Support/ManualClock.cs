namespace TrustServer.Compat.Tests.Support;

/// <summary>A clock shared by server instances that a test moves forward (to expire timestamps and snapshots).</summary>
public sealed class ManualClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>Moves the clock forward from the real time by <paramref name="by"/> in total.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
}

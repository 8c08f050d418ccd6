namespace TrustServer.Server.Notary;

/// <summary>
/// What the background re-signer of this replica reports to the readiness probe: how many repositories are due for
/// re-signing and could not be renewed, and why. Zero on replicas that do not hold the re-signer's lease.
/// </summary>
internal sealed class ResignerStatus
{
    private volatile Snapshot _current = new(0, null);

    /// <summary>Whether this replica holds the re-signer's lease and works.</summary>
    public bool Working { get; set; }

    private volatile int _scheduled;

    /// <summary>Repositories the re-signer keeps a renewal time for (0 until it works).</summary>
    public int Scheduled
    {
        get => _scheduled;
        set => _scheduled = value;
    }

    /// <summary>Repositories due for re-signing that could not be renewed.</summary>
    public int AtRisk => _current.AtRisk;

    /// <summary>Why the last renewal failed, while <see cref="AtRisk"/> is not zero.</summary>
    public string? Reason => _current.Reason;

    public void Report(int atRisk, string? reason) => _current = new Snapshot(atRisk, atRisk == 0 ? null : reason);

    private sealed record Snapshot(int AtRisk, string? Reason);
}

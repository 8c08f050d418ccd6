using TrustServer.Server.Notary;

namespace TrustServer.Server.Tests.Notary;

/// <summary>The re-signer's in-memory schedule: earliest due first, rescheduling, hand-out once, earliest expiry.</summary>
public sealed class RenewalScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void HandsOutOnlyWhatIsDue_EarliestFirst()
    {
        var schedule = new RenewalSchedule();
        schedule.Set("b", T0.AddMinutes(2), T0.AddMinutes(3));
        schedule.Set("a", T0.AddMinutes(1), T0.AddMinutes(5));

        Assert.Equal(T0.AddMinutes(1), schedule.NextDue);
        Assert.False(schedule.TryTakeDue(T0, out _));
        Assert.True(schedule.TryTakeDue(T0.AddMinutes(2), out var first));
        Assert.True(schedule.TryTakeDue(T0.AddMinutes(2), out var second));
        Assert.Equal(["a", "b"], [first, second]);
        Assert.False(schedule.TryTakeDue(T0.AddDays(1), out _)); // taken, not rescheduled yet
        Assert.Null(schedule.NextDue);
        Assert.True(schedule.Contains("a"));
        Assert.Equal(T0.AddMinutes(3), schedule.EarliestExpiry);
    }

    [Fact]
    public void Rescheduling_ReplacesTheEarlierDueTime()
    {
        var schedule = new RenewalSchedule();
        schedule.Set("a", T0.AddMinutes(1), null);
        schedule.Set("a", T0.AddMinutes(10), null);

        Assert.Equal(T0.AddMinutes(10), schedule.NextDue);
        Assert.False(schedule.TryTakeDue(T0.AddMinutes(5), out _));
        Assert.True(schedule.TryTakeDue(T0.AddMinutes(10), out var gun));
        Assert.Equal("a", gun);
    }

    [Fact]
    public void ATakenRepository_RescheduledAtTheSameTime_IsHandedOutAgain()
    {
        var schedule = new RenewalSchedule();
        schedule.Set("a", T0, null);
        Assert.True(schedule.TryTakeDue(T0, out _));

        schedule.Set("a", T0, null);

        Assert.True(schedule.TryTakeDue(T0, out var gun));
        Assert.Equal("a", gun);
    }

    [Fact]
    public void Removed_IsNeverHandedOut()
    {
        var schedule = new RenewalSchedule();
        schedule.Set("a", T0, T0);
        schedule.Remove("a");

        Assert.False(schedule.TryTakeDue(T0.AddDays(1), out _));
        Assert.Null(schedule.NextDue);
        Assert.Null(schedule.EarliestExpiry);
        Assert.Equal(0, schedule.Count);
    }
}

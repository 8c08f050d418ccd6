using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Validation;

/// <summary>
/// Version rules: the root version rule (spec validation.md §3.1), the storage rule "strictly greater than every
/// stored version, gaps allowed" for every role (§10.2), and the library's 64-bit caps (<see cref="UpdateValidator.MaxVersion"/>,
/// <see cref="UpdateValidator.MaxVersionIncrement"/>) that keep versions signable and a role always updatable.
/// </summary>
public sealed class VersionRuleTests
{
    private const long TwoTo31 = 1L << 31;
    private const long TwoTo32 = 1L << 32;

    // ---- rollback and equal versions of every role ----

    [Fact]
    public async Task Root_RollbackAndEqualVersion_Rejected()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        UpdateAssert.Accepted(await repo.PublishAsync(("root", repo.Root(2))), "root", "snapshot", "timestamp");
        UpdateAssert.Accepted(await repo.PublishAsync(("root", repo.Root(3))), "root", "snapshot", "timestamp");

        UpdateAssert.Rejected(await repo.PublishAsync(("root", repo.Root(2))), ValidationErrorKind.BadRoot, "Root modifications must increment the version. Current 3, new 2");
        UpdateAssert.Rejected(await repo.PublishAsync(("root", repo.Root(1))), ValidationErrorKind.BadRoot, "Root modifications must increment the version. Current 3, new 1");
        UpdateAssert.Rejected(await repo.PublishAsync(("root", repo.Root(3))), ValidationErrorKind.OldVersion, "root version 3 is not greater than the stored version 3");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Targets_NotAboveStoredVersion_Rejected(long version)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(3))), "targets", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets", repo.Targets(version)));

        UpdateAssert.Rejected(result, ValidationErrorKind.OldVersion, $"targets version {version} is not greater than the stored version 3");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Delegation_NotAboveStoredVersion_Rejected(long version)
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        UpdateAssert.Accepted(
            await repo.PublishAsync(("targets", repo.Targets(2, delegations: [new Delegation("targets/a", [a])])), ("targets/a", TestRepository.Sign(repo.TargetsBody(3), a))),
            "targets", "targets/a", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(version), a)));

        UpdateAssert.Rejected(result, ValidationErrorKind.OldVersion, $"targets/a version {version} is not greater than the stored version 3");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task UploadedSnapshot_NotAboveStoredVersion_Rejected(long version)
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var root = repo.Current("root");
        var targets2 = repo.Targets(2);
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", targets2), ("snapshot", repo.Snapshot(3, ("root", root), ("targets", targets2)))), "targets", "snapshot", "timestamp");
        var targets3 = repo.Targets(3);

        var result = await repo.PublishAsync(("targets", targets3), ("snapshot", repo.Snapshot(version, ("root", root), ("targets", targets3))));

        UpdateAssert.Rejected(result, ValidationErrorKind.OldVersion, $"snapshot version {version} is not greater than the stored version 3");
    }

    [Theory]
    [InlineData("snapshot")]
    [InlineData("timestamp")]
    public async Task GeneratedFile_NotAboveAStoredVersion_Rejected(string role)
    {
        // Generated versions follow the current file (+1); a higher non-current stored version still wins.
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var result = await repo.ValidateAsync(repo.State.WithHighest(role, 10), ("targets", repo.Targets(2)));

        UpdateAssert.Rejected(result, ValidationErrorKind.OldVersion, $"{role} version 2 is not greater than the stored version 10");
    }

    [Fact]
    public async Task EveryStoredVersionCounts_NotOnlyTheCurrentOne()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var state = repo.State.WithHighest("targets", 10);

        UpdateAssert.Rejected(
            await repo.ValidateAsync(state, ("targets", repo.Targets(5))), ValidationErrorKind.OldVersion, "targets version 5 is not greater than the stored version 10");
        UpdateAssert.Accepted(await repo.ValidateAsync(state, ("targets", repo.Targets(11))), "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task VersionGaps_AreAllowed()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(7))), "targets", "snapshot", "timestamp");
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(1000))), "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Rollback_ValidationErrorsAreReportedFirst()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var stranger = KeySigner.Ecdsa();
        await repo.InitializeAsync();
        UpdateAssert.Accepted(await repo.PublishAsync(("targets", repo.Targets(3))), "targets", "snapshot", "timestamp");

        var result = await repo.PublishAsync(("targets", TestRepository.Sign(repo.TargetsBody(2), stranger)));

        UpdateAssert.Rejected(result, ValidationErrorKind.BadTargets, "valid signatures did not meet threshold for targets");
    }

    // ---- 64-bit versions and the caps ----

    [Fact]
    public void Caps_AreTheDocumentedConstants()
    {
        Assert.Equal(9_007_199_254_740_991L, UpdateValidator.MaxVersion);
        Assert.Equal(4_294_967_296L, UpdateValidator.MaxVersionIncrement);

        // Reaching MaxVersion takes over a million maximal jumps, so no single accepted upload can lock a role.
        Assert.True(UpdateValidator.MaxVersion / UpdateValidator.MaxVersionIncrement > 1_000_000);
    }

    [Fact]
    public async Task VersionsAcrossThe32BitLimits_AreAccepted()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        foreach (var version in new[] { TwoTo31 - 1, TwoTo31, TwoTo31 + 1, TwoTo32 - 1, TwoTo32, TwoTo32 + 1 })
        {
            var result = await repo.PublishAsync(("targets", repo.Targets(version)));
            UpdateAssert.Accepted(result, "targets", "snapshot", "timestamp");
            Assert.Equal(version, UpdateAssert.File(result, "targets").Version);
        }
    }

    [Fact]
    public async Task Increment_IsCappedAboveTheStoredVersion()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();

        var tooFar = await repo.PublishAsync(("targets", repo.Targets(1 + TwoTo32 + 1)));
        var largestJump = await repo.PublishAsync(("targets", repo.Targets(1 + TwoTo32)));
        var next = await repo.PublishAsync(("targets", repo.Targets(1 + TwoTo32 + 1)));

        UpdateAssert.Rejected(tooFar, ValidationErrorKind.BadTargets, "version 4294967298 of targets jumps more than 4294967296 above the stored version 1");
        UpdateAssert.Accepted(largestJump, "targets", "snapshot", "timestamp");
        UpdateAssert.Accepted(next, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Increment_ForANewRoleCountsFromZero()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        using var a = KeySigner.Ecdsa();
        var root = repo.Root();

        var newTargetsTooFar = await repo.PublishAsync(("root", root), ("targets", repo.Targets(TwoTo32 + 1)));
        UpdateAssert.Accepted(await repo.PublishAsync(("root", root), ("targets", repo.Targets(TwoTo32, delegations: [new Delegation("targets/a", [a])]))), "root", "targets", "snapshot", "timestamp");
        var newDelegationTooFar = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(TwoTo32 + 1), a)));
        var newDelegation = await repo.PublishAsync(("targets/a", TestRepository.Sign(repo.TargetsBody(TwoTo32), a)));

        UpdateAssert.Rejected(newTargetsTooFar, ValidationErrorKind.BadTargets, "version 4294967297 of targets jumps more than 4294967296 above the stored version 0");
        UpdateAssert.Rejected(newDelegationTooFar, ValidationErrorKind.BadTargets, "version 4294967297 of targets/a jumps more than 4294967296 above the stored version 0");
        UpdateAssert.Accepted(newDelegation, "targets/a", "snapshot", "timestamp");
    }

    [Fact]
    public async Task Increment_AppliesToUploadedSnapshots()
    {
        using var repo = new TestRepository();
        await repo.InitializeAsync();
        var root = repo.Current("root");
        var targets = repo.Targets(2);

        var tooFar = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(1 + TwoTo32 + 1, ("root", root), ("targets", targets))));
        var largestJump = await repo.PublishAsync(("targets", targets), ("snapshot", repo.Snapshot(1 + TwoTo32, ("root", root), ("targets", targets))));

        UpdateAssert.Rejected(tooFar, ValidationErrorKind.BadSnapshot, "version 4294967298 of snapshot jumps more than 4294967296 above the stored version 1");
        UpdateAssert.Accepted(largestJump, "targets", "snapshot", "timestamp");
    }

    [Fact]
    public async Task MaxVersion_IsTheLastAcceptedVersion()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        await repo.InitializeAsync();
        var state = repo.State.WithHighest("targets", UpdateValidator.MaxVersion - 1);

        var atMax = await repo.ValidateAsync(state, ("targets", repo.Targets(UpdateValidator.MaxVersion)));
        var aboveMax = await repo.ValidateAsync(state, ("targets", repo.Targets(UpdateValidator.MaxVersion + 1)));

        UpdateAssert.Accepted(atMax, "targets", "snapshot", "timestamp");
        UpdateAssert.Rejected(aboveMax, ValidationErrorKind.BadTargets, "version 9007199254740992 of targets exceeds the maximum version 9007199254740991");
    }

    [Fact]
    public async Task MaxVersion_AppliesToRoots()
    {
        using var repo = new TestRepository(serverManagesSnapshot: true);
        var belowMax = RepositoryState.Empty.With("root", repo.Root(UpdateValidator.MaxVersion - 1));
        var atMax = RepositoryState.Empty.With("root", repo.Root(UpdateValidator.MaxVersion));

        var toMax = await repo.ValidateAsync(belowMax, ("root", repo.Root(UpdateValidator.MaxVersion)), ("targets", repo.Targets(1)));
        var beyondMax = await repo.ValidateAsync(atMax, ("root", repo.Root(UpdateValidator.MaxVersion + 1)), ("targets", repo.Targets(1)));

        UpdateAssert.Accepted(toMax, "root", "targets", "snapshot", "timestamp");
        UpdateAssert.Rejected(beyondMax, ValidationErrorKind.BadRoot, "version 9007199254740992 of root exceeds the maximum version 9007199254740991");
    }
}

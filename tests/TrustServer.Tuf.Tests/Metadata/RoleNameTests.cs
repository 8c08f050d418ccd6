using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Metadata;

/// <summary>Role name rules (spec tuf-metadata.md §4.1) and validation order (validation.md §4.1).</summary>
public sealed class RoleNameTests
{
    [Theory]
    [InlineData("root", true)]
    [InlineData("targets", true)]
    [InlineData("snapshot", true)]
    [InlineData("timestamp", true)]
    [InlineData("targets/releases", true)]
    [InlineData("targets/a/b-c_d/0", true)]
    [InlineData("targets/", false)]
    [InlineData("targets/a/", false)]
    [InlineData("targets//a", false)]
    [InlineData("targets/./a", false)]
    [InlineData("targets/../root", false)]
    [InlineData("targets/Releases", false)]
    [InlineData("targets/a.b", false)]
    [InlineData("targets/a b", false)]
    [InlineData("Targets", false)]
    [InlineData("root/x", false)]
    [InlineData("mirror", false)]
    [InlineData("", false)]
    public void IsValid_FollowsNotaryRules(string name, bool valid)
    {
        Assert.Equal(valid, RoleName.IsValid(name));
    }

    [Fact]
    public void IsDelegation_LimitsLengthTo255Bytes()
    {
        Assert.True(RoleName.IsDelegation("targets/" + new string('a', 247)));
        Assert.False(RoleName.IsDelegation("targets/" + new string('a', 248)));
    }

    [Fact]
    public void CompareForValidation_OrdersBySegmentsThenName()
    {
        var roles = new List<string> { "targets/b", "targets/a/z", "targets", "targets/a", "targets/a/b" };

        roles.Sort(RoleName.CompareForValidation);

        Assert.Equal(["targets", "targets/a", "targets/b", "targets/a/b", "targets/a/z"], roles);
    }

    [Fact]
    public void Parent_IsDirname()
    {
        Assert.Equal("targets/a", RoleName.Parent("targets/a/b"));
        Assert.Equal("targets", RoleName.Parent("targets/a"));
    }
}

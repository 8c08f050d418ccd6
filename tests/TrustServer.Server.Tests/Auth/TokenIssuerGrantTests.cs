using TrustServer.Server.Auth;

namespace TrustServer.Server.Tests.Auth;

/// <summary>The built-in issuer grants requested ∩ configured grants.</summary>
public sealed class TokenIssuerGrantTests
{
    private static readonly IssuerGrant[] TeamPush = [new() { Pattern = "example.com/team/*", Actions = "push,pull" }];

    [Fact]
    public void Grant_RequestedWithinGrants_Granted()
    {
        var access = TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a/b:push,pull"]), TeamPush);
        var entry = Assert.Single(access);
        Assert.Equal(["push", "pull"], entry.Actions);
    }

    [Fact]
    public void Grant_StarRequested_GivesOnlyHeldActions()
    {
        var entry = Assert.Single(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a:*"]), TeamPush));
        Assert.Equal(["push", "pull"], entry.Actions);
        Assert.DoesNotContain("*", entry.Actions);
    }

    [Fact]
    public void Grant_OtherGunOrType_NothingGranted()
    {
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/teamx/a:pull"]), TeamPush));
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team:pull"]), TeamPush));
        Assert.Empty(TokenIssuer.Grant(Scopes.Parse(["registry:catalog:*"]), TeamPush));
    }

    [Fact]
    public void Grant_PullOnly_PushDropped()
    {
        var entry = Assert.Single(TokenIssuer.Grant(Scopes.Parse(["repository:example.com/team/a:push,pull"]), [new IssuerGrant { Pattern = "example.com/*", Actions = "pull" }]));
        Assert.Equal(["pull"], entry.Actions);
    }

    [Fact]
    public void Scopes_ParseSpaceSeparatedAndNamesWithPorts()
    {
        var scopes = Scopes.Parse(["repository:localhost:5000/a:pull registry:catalog:*"]);
        Assert.Equal("localhost:5000/a", scopes[0].Name);
        Assert.Equal("catalog", scopes[1].Name);
    }

    [Fact]
    public void HashPassword_IsNotThePassword_AndVerifies()
    {
        var hash = TokenIssuer.HashPassword("s3cret");
        Assert.DoesNotContain("s3cret", hash, StringComparison.Ordinal);
        Assert.NotEqual(TokenIssuer.HashPassword("s3cret"), hash);
    }

    [Theory]
    [InlineData("example.com/team/app")]
    [InlineData("docker.io/library/alpine")]
    [InlineData("localhost:5000/a_b__c-d.e/f")]
    [InlineData("[::1]:5000/x")]
    [InlineData("Registry.Example.COM/x")]
    [InlineData("catalog")]
    public void RepositoryNames_ReferenceGrammar_Valid(string name) => Assert.True(RepositoryNames.IsValid(name));

    [Theory]
    [InlineData("")]
    [InlineData("example.com/team/../secret/x")]
    [InlineData("example.com/./x")]
    [InlineData("example.com//x")]
    [InlineData("example.com/x/")]
    [InlineData("/example.com/x")]
    [InlineData("example.com/%2e%2e/x")]
    [InlineData("example.com/Team/x")]
    [InlineData("example.com/_x")]
    [InlineData("example.com/x_")]
    [InlineData("example.com/x___y")]
    [InlineData("example.com/x\n")]
    [InlineData("-example.com/x")]
    [InlineData("example.com:port/x")]
    [InlineData("example.com/x*")]
    public void RepositoryNames_OutsideTheGrammar_Invalid(string name) => Assert.False(RepositoryNames.IsValid(name));

    [Fact]
    public void RepositoryNames_LongerThan255_Invalid()
    {
        Assert.True(RepositoryNames.IsValid("example.com/" + new string('a', 255 - 12)));
        Assert.False(RepositoryNames.IsValid("example.com/" + new string('a', 256 - 12)));
    }
}

namespace Cluster.Deploy.Tests;

public sealed class YamlLintTests
{
    [Fact]
    public async Task Yamllint_K8sDirectory_NoWarningsOrErrors()
    {
        var yamllint = Tools.RequireYamllint();

        var result = await Tools.RunAsync(yamllint, ["-c", Path.Combine(Repository.K8s, ".yamllint"), "-s", "-f", "parsable", Repository.K8s]);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task Yamllint_BadFile_Reported()
    {
        var yamllint = Tools.RequireYamllint();
        var directory = Directory.CreateTempSubdirectory("cluster-yamllint-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "bad.yaml"), "kind: Service\nkind: Service \n", TestContext.Current.CancellationToken);

            var result = await Tools.RunAsync(yamllint, ["-c", Path.Combine(Repository.K8s, ".yamllint"), "-s", "-f", "parsable", directory]);

            Assert.NotEqual(0, result.ExitCode);
            Assert.Contains("duplication of key", result.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

// Fleet targets: ranges, comma lists, @FILE, -x, and Ansible inventories in
// their three forms (the JSON one as `ansible-inventory --list` prints it).
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fleet/inventory.h"
#include "fleet/k8s.h"
#include "fleet/targets.h"
#include "support/contains.h"

namespace fleet = sonde::controller::fleet;
using fleet::Inventory;
using sonde::testing::contains;

namespace {

std::vector<std::string> names(const std::vector<fleet::FleetTarget>& t) {
  std::vector<std::string> out;
  for (const auto& x : t) out.push_back(x.name);
  return out;
}

std::vector<std::string> expand(std::string_view p) {
  auto r = fleet::expand_range(p);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : std::vector<std::string>{};
}

using V = std::vector<std::string>;

}  // namespace

TEST(FleetRange, PaddedSetAndMixed) {
  auto web = expand("web[01-40]");
  ASSERT_EQ(web.size(), 40u);
  EXPECT_EQ(web.front(), "web01");
  EXPECT_EQ(web[8], "web09");
  EXPECT_EQ(web.back(), "web40");
  EXPECT_EQ(expand("db[1,3,5]"), (V{"db1", "db3", "db5"}));
  EXPECT_EQ(expand("n[1-3,7].lan"), (V{"n1.lan", "n2.lan", "n3.lan", "n7.lan"}));
  EXPECT_EQ(expand("r[1-2]c[1-2]"), (V{"r1c1", "r1c2", "r2c1", "r2c2"}));
  EXPECT_EQ(expand("www[01:03].example.com"),
            (V{"www01.example.com", "www02.example.com", "www03.example.com"}));
  EXPECT_EQ(expand("h[0:6:3]"), (V{"h0", "h3", "h6"}));
  EXPECT_EQ(expand("root@app[8-9]:2222"), (V{"root@app8:2222", "root@app9:2222"}));
}

TEST(FleetRange, IPv6AndPlainNamesStayAsTyped) {
  EXPECT_EQ(expand("[::1]:22"), (V{"[::1]:22"}));
  EXPECT_EQ(expand("[2001:db8::5]"), (V{"[2001:db8::5]"}));
  EXPECT_EQ(expand("plain"), (V{"plain"}));
}

TEST(FleetRange, BadRangesAreErrorsWithAHint) {
  auto back = fleet::expand_range("web[9-1]");
  ASSERT_FALSE(back.ok());
  EXPECT_TRUE(contains(back.error().message, "backwards")) << back.error().message;
  EXPECT_FALSE(back.error().hint.empty());
  auto open = fleet::expand_range("web[1-3");
  ASSERT_FALSE(open.ok());
  EXPECT_TRUE(contains(open.error().message, "without its ]")) << open.error().message;
  // A typo that would name a billion hosts is refused before anything is built.
  auto huge = fleet::expand_range("h[1-999999999]");
  ASSERT_FALSE(huge.ok());
  EXPECT_TRUE(contains(huge.error().message, "more than 100000")) << huge.error().message;
  auto product = fleet::expand_range("a[1-1000]b[1-1000]");
  ASSERT_FALSE(product.ok());
}

TEST(FleetList, CommasOutsideBracketsDuplicatesDropped) {
  auto r = fleet::expand_target_list("web[1,2],db1, web2 ,[::1]:22");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (V{"web1", "web2", "db1", "[::1]:22"}));
  EXPECT_FALSE(fleet::expand_target_list(" , ").ok());
}

TEST(FleetList, AtFileReadsLinesWithComments) {
  auto path = std::filesystem::temp_directory_path() /
              ("sonde-fleet-" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream f(path);
    f << "# the web tier\nweb[01-03]\n\n  db1   # primary\nlocal\n";
  }
  auto r = fleet::expand_target_list("@" + path.string() + ",extra");
  std::filesystem::remove(path);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, (V{"web01", "web02", "web03", "db1", "local", "extra"}));
  auto missing = fleet::expand_target_list("@/nonexistent/sonde-hosts");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error().message, "/nonexistent/sonde-hosts"));
}

TEST(FleetList, ExcludeRemovesByNameAndAllExcludedIsAnError) {
  auto r = fleet::resolve_targets("web[01-05]", nullptr, {"web0[2-3]", "web05"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(names(*r), (V{"web01", "web04"}));
  EXPECT_EQ((*r)[0].connect, "web01");
  auto none = fleet::resolve_targets("a,b", nullptr, {"a,b"});
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.error().message, "excluded every target"));
}

TEST(FleetVia, TemplateNamesTheHost) {
  EXPECT_EQ(fleet::apply_via_template("bastion-{host}.corp", "web01"), "bastion-web01.corp");
  EXPECT_EQ(fleet::apply_via_template("jump", "web01"), "jump");
  EXPECT_EQ(fleet::apply_via_template("{host}-{host}", "x"), "x-x");
}

namespace {

const char* kIni = R"(# hosts outside any section are ungrouped
solo.example.com

[web]
web[01:03].example.com ansible_user=deploy
web9 ansible_host=10.0.0.9 ansible_port=2222

[db]
db1 ansible_host=2001:db8::1 ansible_port=22
db2

[prod:children]
web
db

[db:vars]
ansible_user=postgres
)";

Inventory must_parse(std::string_view text) {
  auto r = Inventory::parse(text, "test");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Inventory{};
}

std::vector<std::string> pick(const Inventory& inv, std::string_view pattern) {
  auto r = inv.select(pattern);
  EXPECT_TRUE(r.ok()) << pattern << ": " << r.error().message;
  return r.ok() ? *r : std::vector<std::string>{};
}

}  // namespace

TEST(FleetInventory, IniGroupsChildrenVarsAndPatterns) {
  Inventory inv = must_parse(kIni);
  EXPECT_EQ(inv.hosts().size(), 7u);
  EXPECT_EQ(pick(inv, "web"),
            (V{"web01.example.com", "web02.example.com", "web03.example.com", "web9"}));
  EXPECT_EQ(pick(inv, "prod").size(), 6u);
  EXPECT_EQ(pick(inv, "ungrouped"), (V{"solo.example.com"}));
  EXPECT_EQ(pick(inv, "all").size(), 7u);
  EXPECT_EQ(pick(inv, "prod:!db"), pick(inv, "web"));
  EXPECT_EQ(pick(inv, "prod:&db"), (V{"db1", "db2"}));
  EXPECT_EQ(pick(inv, "web9,db2"), (V{"web9", "db2"}));
  const auto& h = inv.hosts();
  EXPECT_EQ(h.at("web01.example.com").connect_spec(), "deploy@web01.example.com");
  EXPECT_EQ(h.at("web9").connect_spec(), "10.0.0.9:2222");
  EXPECT_EQ(h.at("db1").connect_spec(), "postgres@[2001:db8::1]:22");
  EXPECT_EQ(h.at("db2").connect_spec(), "postgres@db2");  // the group's user
  auto none = inv.select("cache");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.error().hint, "web")) << none.error().hint;
}

TEST(FleetInventory, YamlFormSameAsIni) {
  const char* yaml = R"(---
all:
  hosts:
    solo.example.com:
  children:
    prod:
      children:
        web:
          hosts:
            web[01:03].example.com:
              ansible_user: deploy
            web9:
              ansible_host: 10.0.0.9
              ansible_port: 2222
        db:
          hosts:
            db1:
              ansible_host: "2001:db8::1"
              ansible_port: 22
            db2: {}
          vars:
            ansible_user: postgres   # the database tier
)";
  Inventory inv = must_parse(yaml);
  Inventory ini = must_parse(kIni);
  EXPECT_EQ(pick(inv, "prod"), pick(ini, "prod"));
  EXPECT_EQ(pick(inv, "ungrouped"), (V{"solo.example.com"}));
  for (const auto& [name, h] : ini.hosts())
    EXPECT_EQ(inv.hosts().at(name).connect_spec(), h.connect_spec()) << name;
}

TEST(FleetInventory, AnsibleInventoryListJson) {
  const char* js = R"({
    "_meta": {"hostvars": {"web1": {"ansible_host": "10.1.0.1", "ansible_port": 2200},
                           "db1": {"ansible_user": "pg"}}},
    "all": {"children": ["ungrouped", "web", "db"]},
    "web": {"hosts": ["web1", "web2"]},
    "db": {"hosts": ["db1"]},
    "ungrouped": {"hosts": ["lone"]}
  })";
  Inventory inv = must_parse(js);
  EXPECT_EQ(pick(inv, "all").size(), 4u);
  EXPECT_EQ(pick(inv, "web:db"), (V{"web1", "web2", "db1"}));
  EXPECT_EQ(inv.hosts().at("web1").connect_spec(), "10.1.0.1:2200");
  EXPECT_EQ(inv.hosts().at("db1").connect_spec(), "pg@db1");
  auto r = fleet::resolve_targets("all", &inv, {"db"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(names(*r), (V{"web1", "web2", "lone"}));
  EXPECT_EQ((*r)[0].connect, "10.1.0.1:2200");
}

TEST(FleetInventory, MalformedFilesNameTheLine) {
  auto bad_port = Inventory::parse("[web]\nweb1 ansible_port=http\n", "inv.ini");
  ASSERT_FALSE(bad_port.ok());
  EXPECT_TRUE(contains(bad_port.error().message, "inv.ini line 2")) << bad_port.error().message;
  auto list = Inventory::parse("all:\n  hosts:\n    - web1\n", "inv.yml");
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(contains(list.error().message, "inv.yml line 3")) << list.error().message;
  auto js = Inventory::parse(R"({"web": {"hosts": "web1"}})", "inv.json");
  ASSERT_FALSE(js.ok());
  EXPECT_TRUE(contains(js.error().message, "web.hosts")) << js.error().message;
  auto empty_key = Inventory::parse("all:\n  hosts:\n    :\n", "inv.yml");
  ASSERT_FALSE(empty_key.ok());
  EXPECT_TRUE(contains(empty_key.error().message, "inv.yml line 3")) << empty_key.error().message;
  EXPECT_FALSE(Inventory::parse(R"({"web": {"hosts": [""]}})", "inv.json").ok());
  EXPECT_FALSE(Inventory::parse("{not json", "x").ok());
  EXPECT_FALSE(Inventory::parse("", "x").ok());
  // A group that contains itself through its children is cut, not followed forever.
  Inventory loop = must_parse("[a:children]\nb\n[b:children]\na\n[a]\nh1\n");
  EXPECT_EQ(pick(loop, "b"), (V{"h1"}));
}

// Nesting and chains the file makes up are bounded or walked without the stack.
TEST(FleetInventory, DeepYamlIsRefusedAndLongChildChainsAreWalked) {
  std::string yaml;
  for (int i = 0; i < 200; ++i) yaml += std::string(2 * i, ' ') + "g" + std::to_string(i) + ":\n";
  auto deep = Inventory::parse(yaml, "deep.yml");
  ASSERT_FALSE(deep.ok());
  EXPECT_TRUE(contains(deep.error().message, "nested over 64 levels")) << deep.error().message;
  std::string ini;
  for (int i = 0; i < 20000; ++i)
    ini += "[g" + std::to_string(i) + ":children]\ng" + std::to_string(i + 1) + "\n";
  ini += "[g20000]\nbottom\n";
  Inventory chain = must_parse(ini);
  EXPECT_EQ(pick(chain, "g0"), (V{"bottom"}));
  auto many = Inventory::parse("[a]\nh[1-60000]\n[b]\nk[1-60000]\n", "many.ini");
  ASSERT_FALSE(many.ok());
  EXPECT_TRUE(contains(many.error().message, "many.ini line 4")) << many.error().message;
}

// Groups of hosts are shown folded back into ranges, and the folding expands
// back to the same names.
TEST(FleetCompress, FoldsTrailingNumbersIntoRanges) {
  EXPECT_EQ(fleet::compress_hosts({"web01", "web02", "web03", "web07"}), "web[01-03,07]");
  EXPECT_EQ(fleet::compress_hosts({"web03", "web01", "web02"}), "web[01-03]");
  EXPECT_EQ(fleet::compress_hosts({"lab07"}), "lab07");
  EXPECT_EQ(fleet::compress_hosts({"h9", "h10", "h11"}), "h[9-11]");
  EXPECT_EQ(fleet::compress_hosts({"web01", "web09", "web10"}), "web[01,09-10]");
  EXPECT_EQ(fleet::compress_hosts({"db1", "db1", "db3"}), "db[1,3]");
  EXPECT_EQ(fleet::compress_hosts({"a1", "b2", "a2", "gw"}), "a[1-2],b2,gw");
  EXPECT_EQ(fleet::compress_hosts({}), "");
  // Too long to be a number: kept as typed.
  EXPECT_EQ(fleet::compress_hosts({"n1234567890123456789012"}), "n1234567890123456789012");
  V names;
  for (int i = 1; i <= 40; ++i) names.push_back((i < 10 ? "web0" : "web") + std::to_string(i));
  names.push_back("web45");
  const std::string folded = fleet::compress_hosts(names);
  EXPECT_EQ(folded, "web[01-40,45]");
  auto back = fleet::expand_range(folded);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, names);
}

// --k8s: the pods kubectl lists become targets reached by kubectl exec -i.
TEST(FleetK8s, SelectorAndPodListBecomeExecTargets) {
  auto sel = fleet::parse_k8s_selector("sonde/app=sonde-agent");
  ASSERT_TRUE(sel.ok()) << sel.error().message;
  EXPECT_EQ(sel->ns, "sonde");
  EXPECT_EQ(sel->selector, "app=sonde-agent");
  EXPECT_EQ(fleet::k8s_list_argv(*sel), (V{"kubectl", "get", "pods", "--namespace", "sonde",
                                           "--selector", "app=sonde-agent", "--output", "json"}));
  EXPECT_FALSE(fleet::parse_k8s_selector("sonde/").ok());
  EXPECT_FALSE(fleet::parse_k8s_selector("Bad_NS/app=x").ok());
  auto bare = fleet::parse_k8s_selector("tier in (web,api)");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->ns, "");

  const char* list = R"({"kind": "PodList", "items": [
    {"metadata": {"name": "sonde-agent-7x2kq", "namespace": "sonde"}, "status": {"phase": "Running"}},
    {"metadata": {"name": "sonde-agent-p9d4m", "namespace": "sonde"}, "status": {"phase": "Pending"}},
    {"metadata": {"name": "evil;rm -rf", "namespace": "sonde"}, "status": {"phase": "Running"}},
    {"metadata": {"name": "sonde-agent-zz81c", "namespace": "sonde"}, "status": {"phase": "Running"}}
  ]})";
  auto pods = fleet::k8s_pods_from_json(list, *sel, fleet::kK8sAgentPath, "");
  ASSERT_TRUE(pods.ok()) << pods.error().message;
  ASSERT_EQ(pods->targets.size(), 2u);
  EXPECT_EQ(pods->targets[0].name, "sonde-agent-7x2kq");
  EXPECT_EQ(pods->targets[0].via,
            "kubectl exec -i --namespace sonde sonde-agent-7x2kq -- '/usr/local/bin/sonde-agent' "
            "serve");
  EXPECT_EQ(pods->not_running, (V{"sonde-agent-p9d4m (Pending)"}));
  auto with_c = fleet::k8s_pods_from_json(list, *sel, "/opt/a b", "agent");
  ASSERT_TRUE(with_c.ok());
  EXPECT_EQ(with_c->targets[1].via,
            "kubectl exec -i --namespace sonde sonde-agent-zz81c --container 'agent' -- '/opt/a b' "
            "serve");
  // Pods of several namespaces are named NS/POD.
  auto two = fleet::k8s_pods_from_json(
      R"({"items": [{"metadata": {"name": "a", "namespace": "x"}, "status": {"phase": "Running"}},
                    {"metadata": {"name": "a", "namespace": "y"}, "status": {"phase": "Running"}}]})",
      *bare, fleet::kK8sAgentPath, "");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->targets[0].name, "x/a");
  EXPECT_EQ(two->targets[1].name, "y/a");
  auto none = fleet::k8s_pods_from_json(R"({"items": []})", *sel, fleet::kK8sAgentPath, "");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.error().hint, "kubectl get pods -n sonde")) << none.error().hint;
  EXPECT_FALSE(fleet::k8s_pods_from_json("<html>", *sel, fleet::kK8sAgentPath, "").ok());
}

// The DaemonSet shipped in the tree runs the agent where --k8s looks for it.
TEST(FleetK8s, TheDaemonSetManifestMatchesWhatK8sExpects) {
  std::ifstream f(SONDE_SOURCE_DIR "/deploy/k8s/sonde-agent-daemonset.yaml");
  ASSERT_TRUE(f) << "deploy/k8s/sonde-agent-daemonset.yaml is missing";
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(text, "kind: DaemonSet"));
  EXPECT_TRUE(contains(text, "hostPID: true")) << "the agent must see the node's processes";
  EXPECT_TRUE(contains(text, "app: sonde-agent"));
  EXPECT_TRUE(contains(text, "sonde --k8s sonde/app=sonde-agent"));
  EXPECT_TRUE(contains(text, "SYS_PTRACE"));
  std::ifstream d(SONDE_SOURCE_DIR "/deploy/k8s/Dockerfile");
  std::string docker((std::istreambuf_iterator<char>(d)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(docker, std::string("COPY sonde-agent ") + fleet::kK8sAgentPath)) << docker;
}

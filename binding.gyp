# Shim for node-gyp-build's install fallback and prebuildify: the real build is CMake (cmake-js),
# driven by scripts/build.mjs, which puts the addon and its libraries in build/Release.
{
  "targets": [
    {
      "target_name": "smolvlm",
      "type": "none",
      "actions": [
        {
          "action_name": "cmake_js_build",
          "inputs": ["CMakeLists.txt"],
          "outputs": ["<(PRODUCT_DIR)/smolvlm.node"],
          "action": ["node", "scripts/build.mjs", "--out", "<(PRODUCT_DIR)"]
        }
      ]
    }
  ]
}
